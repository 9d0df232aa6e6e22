/**
 * `loadPolicy`: a policy file, or a folder holding `default.yaml` (or `default.json`) and
 * `tenants/<tenant>.yaml` overlays. Everything is read and validated up front (fail closed at
 * start); `reload()` swaps in new files only when all of them are valid.
 */
import { existsSync, readdirSync, statSync, watch as fsWatch, type FSWatcher } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError, UsageError } from '../errors.ts';
import { TENANT_NAME } from '../names.ts';
import { buildEffective, checkOverlay, toBase, type BasePolicy } from './overlay.ts';
import { POLICIES_DIR, readPolicyFile, type PolicyFile } from './policy-file.ts';
import type { EffectivePolicy, PolicySet, ReloadResult } from './types.ts';

export type { EffectivePolicy, PolicySet, ReloadResult } from './types.ts';

/** Most overlays one folder may hold. */
const MAX_OVERLAYS = 10_000;

const POLICY_EXTENSIONS = ['.yaml', '.yml', '.json'];

interface Loaded {
  readonly base: BasePolicy;
  readonly overlays: ReadonlyMap<string, PolicyFile>;
  readonly files: readonly string[];
}

/**
 * Is `tenant` a valid tenant name? Defends against path traversal through a caller-chosen tenant:
 * only `[a-z0-9][a-z0-9._-]{0,63}` passes, and `.`/`..` cannot (they must start with [a-z0-9]).
 */
export function isTenantName(tenant: unknown): tenant is string {
  return typeof tenant === 'string' && TENANT_NAME.test(tenant);
}

function findBaseFile(dir: string): string {
  const candidates = ['default.yaml', 'default.yml', 'default.json'].filter((n) => existsSync(join(dir, n)));
  if (candidates.length === 0) {
    throw new ConfigError(
      'ERR_POLICY_INVALID',
      `${dir}: no default.yaml or default.json in the policy folder`,
      {
        file: dir,
        line: 0,
      },
    );
  }
  if (candidates.length > 1) {
    throw new ConfigError(
      'ERR_POLICY_INVALID',
      `${dir}: more than one base policy (${candidates.join(', ')}); keep exactly one`,
      { file: dir, line: 0 },
    );
  }
  return join(dir, candidates[0]!);
}

function readOverlays(dir: string, base: BasePolicy): Map<string, PolicyFile> {
  const overlays = new Map<string, PolicyFile>();
  const tenantsDir = join(dir, 'tenants');
  if (!existsSync(tenantsDir)) return overlays;
  let names: string[];
  try {
    names = readdirSync(tenantsDir).sort();
  } catch (error) {
    throw new ConfigError(
      'ERR_POLICY_INVALID',
      `${tenantsDir}: cannot list tenant overlays (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { file: tenantsDir, line: 0 },
    );
  }
  for (const name of names) {
    // Editor backups, dotfiles and READMEs are not overlays.
    if (name.startsWith('.')) continue;
    const lower = name.toLowerCase();
    const ext = POLICY_EXTENSIONS.find((e) => lower.endsWith(e));
    if (ext === undefined) continue;
    // Defends against an overlay that silently does not apply (its tenant would run under the wider
    // base): `acme.YAML` is refused like `ACME.yaml`, never skipped as "not a policy file".
    if (!name.endsWith(ext)) {
      throw new ConfigError(
        'ERR_POLICY_INVALID',
        `${join(tenantsDir, name)}: overlay file extensions are lower case (${POLICY_EXTENSIONS.join(', ')})`,
        { file: join(tenantsDir, name), line: 0 },
      );
    }
    const tenant = name.slice(0, -ext.length);
    const display = join(tenantsDir, name);
    if (!isTenantName(tenant)) {
      throw new ConfigError(
        'ERR_POLICY_INVALID',
        `${display}: "${tenant}" is not a valid tenant name (expected ${TENANT_NAME.source})`,
        { file: display, line: 0 },
      );
    }
    if (overlays.has(tenant)) {
      throw new ConfigError('ERR_POLICY_INVALID', `${display}: a second overlay for tenant "${tenant}"`, {
        file: display,
        line: 0,
      });
    }
    if (overlays.size >= MAX_OVERLAYS) {
      throw new ConfigError('ERR_POLICY_INVALID', `${tenantsDir}: more than ${MAX_OVERLAYS} overlays`, {
        file: tenantsDir,
        line: 0,
      });
    }
    const file = readPolicyFile(display, display, 'overlay');
    checkOverlay(base, file);
    overlays.set(tenant, file);
  }
  return overlays;
}

function readAll(path: string): Loaded {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (error) {
    throw new ConfigError(
      'ERR_POLICY_INVALID',
      `${path}: cannot read policy (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { file: path, line: 0 },
    );
  }
  if (!isDir) {
    const base = toBase(readPolicyFile(path, path));
    return { base, overlays: new Map(), files: [path] };
  }
  const baseFile = findBaseFile(path);
  const base = toBase(readPolicyFile(baseFile, baseFile));
  const overlays = readOverlays(path, base);
  return { base, overlays, files: [baseFile, ...[...overlays.values()].map((f) => f.file)] };
}

class LoadedPolicySet implements PolicySet {
  readonly source: string;
  readonly #path: string;
  readonly #isDir: boolean;
  #loaded: Loaded;
  #cache = new Map<string, EffectivePolicy>();

  constructor(path: string) {
    this.#path = path;
    this.source = path;
    this.#loaded = readAll(path);
    this.#isDir = statSync(path).isDirectory();
  }

  get revision(): number {
    return this.#loaded.base.revision;
  }

  get tenants(): readonly string[] {
    return [...this.#loaded.overlays.keys()].sort();
  }

  forTenant(tenant: string): EffectivePolicy {
    if (!isTenantName(tenant)) {
      throw new UsageError(
        'ERR_USAGE',
        `invalid tenant name ${JSON.stringify(String(tenant).slice(0, 80))}: expected ${TENANT_NAME.source}`,
      );
    }
    const cached = this.#cache.get(tenant);
    if (cached) return cached;
    const effective = buildEffective(this.#loaded.base, this.#loaded.overlays.get(tenant), tenant);
    // Bounded: one entry per tenant seen; tenants are operator-registered names.
    if (this.#cache.size < 100_000) this.#cache.set(tenant, effective);
    return effective;
  }

  base(): EffectivePolicy {
    return buildEffective(this.#loaded.base, undefined, '');
  }

  reload(): ReloadResult {
    let next: Loaded;
    try {
      next = readAll(this.#path);
    } catch (error) {
      if (error instanceof ConfigError) return { ok: false, error };
      return {
        ok: false,
        error: new ConfigError('ERR_POLICY_INVALID', `${this.#path}: reload failed`, {}, { cause: error }),
      };
    }
    if (next.base.revision < this.#loaded.base.revision) {
      return {
        ok: false,
        error: new ConfigError(
          'ERR_POLICY_INVALID',
          `${this.#loaded.files[0]}: revision ${next.base.revision} is lower than the loaded revision ${this.#loaded.base.revision}; revisions only go up`,
          { file: this.#loaded.files[0], line: 0, field: 'revision' },
        ),
      };
    }
    this.#loaded = next;
    this.#cache = new Map();
    return { ok: true, revision: next.base.revision };
  }

  watch(onReload?: (result: ReloadResult) => void, debounceMs = 100): () => void {
    let watchers: FSWatcher[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    let stopped = false;
    // Editors replace files by rename, so watch the folders, not the files.
    const dirs = this.#isDir ? [this.#path, join(this.#path, 'tenants')] : [dirname(this.#path)];
    const only = this.#isDir ? undefined : basename(this.#path);
    const close = (): void => {
      for (const w of watchers) w.close();
      watchers = [];
    };
    // Defends against a watch that silently goes deaf: a tenants/ folder created after watch()
    // started, or deleted and recreated (the old watch follows the deleted inode), was never
    // watched again, so later overlay edits were ignored. Every change re-arms all watches.
    const arm = (): void => {
      close();
      for (const dir of dirs) {
        if (!existsSync(dir)) continue;
        try {
          const w = fsWatch(dir, { persistent: false }, (_event, name) => {
            if (only === undefined || name === null || name === only) fire();
          });
          w.on('error', () => fire());
          watchers.push(w);
        } catch {
          // A folder that vanished between the check and the watch: nothing to watch there.
        }
      }
    };
    const fire = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        timer = undefined;
        if (stopped) return;
        // Re-arm before reading, so a change made during the reload fires again.
        arm();
        const result = this.reload();
        onReload?.(result);
      }, debounceMs);
    };
    arm();
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      close();
    };
  }
}

/**
 * Loads a policy file or folder. No argument: the shipped policies/default.yaml.
 *
 * A folder holds `default.yaml` (or `.json`) and optional `tenants/<tenant>.yaml` overlays, each
 * `overlay: true`, each only narrowing the base. Every file is validated now (fail closed).
 * @throws ConfigError `ERR_POLICY_INVALID` naming file, line and field when any file is invalid.
 * @example
 * const policies = loadPolicy('policies/');
 * const policy = policies.forTenant('acme');
 * checkSource(source, policy, { requires: ['log'] }).ok;
 */
export function loadPolicy(fileOrDir?: string): PolicySet {
  if (fileOrDir !== undefined && (typeof fileOrDir !== 'string' || fileOrDir === '')) {
    throw new UsageError('ERR_USAGE', 'loadPolicy: expected a file or folder path (a non-empty string)');
  }
  const path =
    fileOrDir === undefined ? fileURLToPath(new URL('default.yaml', POLICIES_DIR)) : resolve(fileOrDir);
  return new LoadedPolicySet(path);
}
