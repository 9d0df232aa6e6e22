/**
 * Resident memory of a process tree, read from /proc (Linux): sealbox keeps components in worker
 * processes, so its memory is the host plus every descendant, and the peers are measured the
 * same way so the figures compare.
 */
import { readFileSync, readdirSync } from 'node:fs';

function rssKb(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
    return match ? Number(match[1]) : 0;
  } catch {
    return 0; // the process exited between listing and reading
  }
}

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name is in parentheses and may contain spaces: the ppid follows the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

/** Process ids of every descendant of `root`. */
export function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const parent = parentOf(pid);
    if (parent === undefined) continue;
    const list = children.get(parent) ?? [];
    list.push(pid);
    children.set(parent, list);
  }
  const found: number[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    for (const child of children.get(pid) ?? []) {
      found.push(child);
      queue.push(child);
    }
  }
  return found;
}

/** /proc reports kB meaning KiB; figures here are decimal MB (10^6 bytes), as the 3 MB target. */
const KIB_PER_MB = 1e6 / 1024;

/** Resident set size of `root` and all its descendants, in MB (10^6 bytes). */
export function treeRssMb(root = process.pid): number {
  let kb = rssKb(root);
  for (const pid of descendants(root)) kb += rssKb(pid);
  return kb / KIB_PER_MB;
}

/** Resident set size of this process alone, in MB (10^6 bytes). */
export function selfRssMb(): number {
  return rssKb(process.pid) / KIB_PER_MB;
}
