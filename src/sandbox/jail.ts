/**
 * The OS jail around sandbox worker processes: bubblewrap (`bwrap`) wraps the worker's command line
 * so that the worker runs in new user, pid, network, ipc, uts, cgroup and mount namespaces, with a
 * read-only view of only the files it loads, an empty private /tmp, no network, no capabilities and
 * (when the host runs as root) a non-root uid on the host as well.
 *
 * This is the second wall behind the isolate: it matters only after a V8 or isolated-vm bug gave
 * tenant code native execution inside a worker. It does not defend against kernel bugs (the worker
 * still makes system calls to the host's kernel; there is no seccomp filter, see docs/sandbox.md).
 *
 * Detection runs once per process (a real jailed start of this Node binary loading isolated-vm's
 * addon), so `jail: 'auto'` never picks a jail that cannot start a worker.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, realpathSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { ConfigError } from '../errors.ts';
import { isolatedVmEntry, workerCommand, workerEntryFile } from './spawn-args.ts';

/** `auto`: jailed when this machine can, otherwise not (and said so); `required`: refuse to start without; `off`. */
export type JailMode = 'auto' | 'required' | 'off';

export const JAIL_MODES: readonly JailMode[] = Object.freeze(['auto', 'required', 'off']);

/** What was decided at start: whether workers run jailed, and if not, why. */
export interface JailStatus {
  readonly mode: JailMode;
  readonly jailed: boolean;
  /** why workers are not jailed (absent when jailed) */
  readonly reason?: string;
  /** the uid bwrap (and so the worker) runs as on the host, when jailed */
  readonly hostUid?: number;
}

/** A working jail on this machine: how to wrap a worker command line. */
export interface Jail {
  /** absolute path of bwrap */
  readonly bwrap: string;
  /** shared libraries the Node binary and the isolated-vm addon link against (host paths) */
  readonly libraries: readonly string[];
  /** uid/gid to start bwrap with (only when the host is root: drop to `nobody` on the host too) */
  readonly spawnUid?: number;
  readonly spawnGid?: number;
}

/** A command line: `command` followed by `args` (the shape spawn-args.ts builds). */
export interface JailCommand {
  readonly command: string;
  readonly args: readonly string[];
}

/** uid/gid of the worker inside its user namespace, and of bwrap on the host when the host is root. */
export const JAIL_UID = 65534;
export const JAIL_GID = 65534;

/** Wall clock allowed for the one-time detection run (a jailed Node start loading isolated-vm). */
const PROBE_TIMEOUT_MS = 15_000;

/**
 * The bwrap command line that runs `inner` jailed. Only paths the worker is allowed to read under
 * Node's permission model (`--allow-fs-read=` in `inner.args`), the Node binary and its shared
 * libraries are visible, read-only, at the same paths as on the host.
 */
export function jailCommand(jail: Jail, inner: JailCommand): JailCommand {
  const reads = [inner.command];
  for (const arg of inner.args) {
    if (arg.startsWith('--allow-fs-read=')) reads.push(arg.slice('--allow-fs-read='.length));
  }
  return Object.freeze({
    command: jail.bwrap,
    args: Object.freeze([...jailOptions(jail, reads), '--', inner.command, ...inner.args]),
  });
}

/** bwrap's options (everything before `--`) for a jail where only `reads` and the libraries are visible. */
export function jailOptions(jail: Jail, reads: readonly string[]): string[] {
  const binds = new Set<string>([...reads, ...jail.libraries]);
  const args: string[] = [
    // Defends against a worker escape reaching the network, other processes, the host's IPC objects
    // or its mounts: every namespace is new; --unshare-user (not the -try variant) fails instead of
    // silently running without a user namespace.
    '--unshare-all',
    '--unshare-user',
    // Defends against an escaped worker outliving the node (and its supervision).
    '--die-with-parent',
    // Defends against TIOCSTI terminal injection into a controlling terminal.
    '--new-session',
    // Defends against an escaped worker using capabilities inside its namespaces (mount, raw sockets, ...).
    '--cap-drop',
    'ALL',
    '--uid',
    String(JAIL_UID),
    '--gid',
    String(JAIL_GID),
    '--hostname',
    'sealbox',
    '--clearenv',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    // A private, empty, size-limited /tmp: nothing of the host's, and writes cannot fill a disk.
    '--size',
    String(16 * 1024 * 1024),
    '--tmpfs',
    '/tmp',
  ];
  if (existsSync('/etc/ld.so.cache')) args.push('--ro-bind', '/etc/ld.so.cache', '/etc/ld.so.cache');
  // Defends against an escaped worker reading host files (keyring, policy, other tenants' state): only
  // what the worker loads is bound, read-only; a path missing on the host is simply not there.
  for (const path of [...binds].sort()) if (existsSync(path)) args.push('--ro-bind', path, path);
  // The root itself (bwrap's tmpfs) becomes read-only: /tmp is the only writable place.
  args.push('--remount-ro', '/', '--chdir', '/');
  return args;
}

/** Spawn options that go with {@link jailCommand}: run bwrap as `nobody` when the host is root. */
export function jailSpawnIds(jail: Jail): { uid?: number; gid?: number } {
  return jail.spawnUid === undefined ? {} : { uid: jail.spawnUid, gid: jail.spawnGid ?? JAIL_GID };
}

let detected: { jail: Jail | undefined; reason: string | undefined } | undefined;

/**
 * Finds out once per process whether this machine can jail workers: bwrap on PATH, its libraries
 * known (ldd), and a jailed start of this Node binary that loads isolated-vm's addon succeeding.
 * Never throws; a failure carries the reason (what is missing).
 */
export function detectJail(): { readonly jail: Jail | undefined; readonly reason: string | undefined } {
  detected ??= probe();
  return detected;
}

/**
 * Decides how workers start under `mode`, once at start.
 * @throws ConfigError ERR_CONFIG_INVALID when `mode` is not a JailMode, or is `required` and this
 *   machine cannot jail (the message names what is missing)
 */
export function resolveJail(mode: unknown): { readonly status: JailStatus; readonly jail: Jail | undefined } {
  if (typeof mode !== 'string' || !(JAIL_MODES as readonly string[]).includes(mode)) {
    throw new ConfigError(
      'ERR_CONFIG_INVALID',
      `jail must be one of ${JAIL_MODES.join(', ')}, got ${typeof mode === 'string' ? JSON.stringify(mode.slice(0, 40)) : typeof mode}`,
    );
  }
  const jailMode = mode as JailMode;
  if (jailMode === 'off') {
    return {
      status: Object.freeze({ mode: jailMode, jailed: false, reason: 'jail is off' }),
      jail: undefined,
    };
  }
  const { jail, reason } = detectJail();
  if (jail === undefined) {
    if (jailMode === 'required') {
      throw new ConfigError(
        'ERR_CONFIG_INVALID',
        `jail 'required' but workers cannot be jailed here: ${reason}`,
      );
    }
    return {
      status: Object.freeze({ mode: jailMode, jailed: false, reason: reason ?? 'unknown' }),
      jail: undefined,
    };
  }
  const hostUid = jail.spawnUid ?? process.getuid?.() ?? -1;
  return { status: Object.freeze({ mode: jailMode, jailed: true, hostUid }), jail };
}

function probe(): { jail: Jail | undefined; reason: string | undefined } {
  if (process.platform !== 'linux')
    return { jail: undefined, reason: `bwrap needs Linux, this is ${process.platform}` };
  // The operator may name the binary (SEALBOX_BWRAP, an absolute path); otherwise PATH decides.
  const named = process.env.SEALBOX_BWRAP;
  if (named !== undefined && !(named.startsWith('/') && isExecutable(named))) {
    return {
      jail: undefined,
      reason: `SEALBOX_BWRAP=${JSON.stringify(named.slice(0, 200))} is not an executable absolute path`,
    };
  }
  const bwrap = named ?? findOnPath('bwrap');
  if (bwrap === undefined) {
    return { jail: undefined, reason: 'bwrap not found on PATH (Debian/Ubuntu: apt-get install bubblewrap)' };
  }
  let ivmDir: string;
  try {
    ivmDir = dirname(realpathSync(createRequire(import.meta.url).resolve('isolated-vm/package.json')));
  } catch {
    return { jail: undefined, reason: 'isolated-vm is not installed' };
  }
  const libraries = new Set<string>();
  for (const file of [realpathSync(process.execPath), ...addonFiles(ivmDir)]) {
    const found = sharedLibraries(file);
    if (typeof found === 'string') return { jail: undefined, reason: found };
    for (const library of found) libraries.add(library);
  }
  const base: Jail = { bwrap, libraries: Object.freeze([...libraries].sort()) };
  // Prefer a non-root uid on the host too: bwrap then runs as nobody and creates its user namespace
  // unprivileged. If that cannot work (files unreadable for nobody, unprivileged user namespaces
  // disabled), a root host still gets a jail whose user namespace maps root to nobody.
  const candidates: Jail[] =
    process.getuid?.() === 0 ? [{ ...base, spawnUid: JAIL_UID, spawnGid: JAIL_GID }, base] : [base];
  const failures: string[] = [];
  for (const candidate of candidates) {
    const failure = tryJail(candidate);
    if (failure === undefined) return { jail: Object.freeze(candidate), reason: undefined };
    failures.push(`${candidate.spawnUid === undefined ? 'as this user' : 'as nobody'}: ${failure}`);
  }
  return { jail: undefined, reason: `bwrap cannot start a jailed worker (${failures.join('; ')})` };
}

/**
 * Starts this Node binary jailed with the worker's own flags (spawn-args.ts: permission model and
 * read paths), reads the worker's entry file and loads isolated-vm's addon, as a worker would.
 */
function tryJail(jail: Jail): string | undefined {
  const worker = workerCommand();
  const workerFile = workerEntryFile();
  const flags = worker.args.filter((arg) => arg.startsWith('--'));
  const command = jailCommand(jail, {
    command: worker.command,
    args: [
      ...flags,
      '-e',
      'require("node:fs").readFileSync(process.argv[1]); const ivm = require(process.argv[2]); ' +
        'new ivm.Isolate({ memoryLimit: 8 }).dispose(); process.stdout.write("ok")',
      workerFile,
      isolatedVmEntry(),
    ],
  });
  const result = spawnSync(command.command, [...command.args], {
    env: {},
    encoding: 'utf8',
    timeout: PROBE_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
    ...jailSpawnIds(jail),
  });
  if (result.error !== undefined) return result.error.message;
  if (result.status === 0 && result.stdout === 'ok') return undefined;
  const detail = result.stderr.trim().split('\n').slice(0, 3).join(' / ').slice(0, 300);
  return `exit ${result.status ?? result.signal}${detail === '' ? '' : `: ${detail}`}`;
}

/** The native addons isolated-vm may load on this platform (prebuilds and a local build). */
function addonFiles(ivmDir: string): string[] {
  const files: string[] = [];
  for (const dir of [
    join(ivmDir, 'prebuilds', `${process.platform}-${process.arch}`),
    join(ivmDir, 'build', 'Release'),
  ]) {
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    const abi = `abi${process.versions.modules}`;
    for (const name of names) {
      if (name.endsWith('.node') && (dir.endsWith('Release') || name.includes(abi)))
        files.push(join(dir, name));
    }
  }
  return files;
}

/**
 * Shared libraries `file` needs, as the dynamic loader finds them (ldd), or a reason string.
 * ldd runs the system's loader on the operator's own binaries (never on tenant input).
 */
function sharedLibraries(file: string): string[] | string {
  const ldd = findOnPath('ldd');
  if (ldd === undefined) return 'ldd not found on PATH (needed to list the libraries the worker loads)';
  const result = spawnSync(ldd, [file], { env: {}, encoding: 'utf8', timeout: PROBE_TIMEOUT_MS });
  if (result.error !== undefined) return `ldd ${file}: ${result.error.message}`;
  const libraries: string[] = [];
  for (const line of `${result.stdout}\n${result.stderr}`.split('\n')) {
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)` or `/lib64/ld-linux-x86-64.so.2 (0x...)`
    const match = /(?:=>\s*|^\s*)(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    // A library ldd cannot find (the musl prebuild on a glibc system) is left out: the jailed test
    // start below decides whether what the worker really loads is all there.
    if (match !== null) libraries.push(match[1]!);
  }
  return libraries;
}

/** An executable named `name` on the operator's PATH (or in /usr/bin, /bin), else undefined. */
function findOnPath(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    if (dir === '' || !dir.startsWith('/')) continue;
    const candidate = join(dir, name);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
