/**
 * Worker-thread entry that runs rolldown (async) for the synchronous `pack()`: the caller blocks on
 * a shared flag until this posts its one result (see run-bundler.ts).
 *
 * It bundles the entry module, its relative imports and the packages they import into one ES
 * module with a source map. Imports that cannot work in the sandbox are not resolved: they are
 * recorded as refusals (with the importing file) and left external, and the caller turns the
 * first one into a typed PackError. Nothing here throws across the thread boundary except as a
 * `{ error }` result.
 */
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve, sep } from 'node:path';
import { builtinModules } from 'node:module';
import { workerData, type MessagePort } from 'node:worker_threads';
import { rolldown, type Plugin } from 'rolldown';
import { SealboxError } from '../../errors.ts';
import { isTypeScriptFile, stripTypes } from '../typescript.ts';
import type { BundlerRequest, BundlerResult, Refusal } from './bundler-protocol.ts';

const { request, port, flag } = workerData as {
  request: BundlerRequest;
  port: MessagePort;
  flag: Int32Array;
};

const BUILTINS: ReadonlySet<string> = new Set(builtinModules);

/** Why a specifier cannot be bundled, or undefined when rolldown may resolve it. */
function refusalReason(specifier: string): Refusal['reason'] | undefined {
  if (specifier.startsWith('node:') || BUILTINS.has(specifier) || BUILTINS.has(specifier.split('/')[0] ?? ''))
    return 'node-builtin';
  if (/^[a-z][a-z0-9+.-]*:/i.test(specifier) || specifier.startsWith('//')) return 'url';
  if (/\.node$/i.test(specifier)) return 'native-addon';
  return undefined;
}

/** A typed error thrown inside a hook (rolldown rewraps hook errors, so it is kept here too). */
let hookError: SealboxError | undefined;

function sandboxPlugin(refusals: Refusal[]): Plugin {
  return {
    name: 'sealbox-sandbox',
    async resolveId(specifier, importer, options) {
      if (specifier === 'sealbox') return { id: 'sealbox', external: true };
      const refused = { id: `\u0000sealbox-refused:${specifier}`, external: true } as const;
      const reason = refusalReason(specifier);
      // Defends against host reach through the bundle: a Node built-in, a network URL or a native
      // addon never enters the packed script; the import stays external and pack refuses it.
      if (reason !== undefined) {
        refusals.push({ reason, specifier, importer: importer ?? '', kind: options.kind });
        return refused;
      }
      if (importer !== undefined && !/^[./]/.test(specifier)) {
        // rolldown leaves an unresolvable package import external; pack refuses it instead.
        const found = await this.resolve(specifier, importer, { kind: options.kind, skipSelf: true });
        if (!found || found.external) {
          refusals.push({ reason: 'not-found', specifier, importer, kind: options.kind });
          return refused;
        }
        return found;
      }
      return null;
    },
    load(id) {
      if (/\.node$/i.test(id)) {
        refusals.push({ reason: 'native-addon', specifier: id, importer: id, kind: 'load' });
        return { code: '', moduleType: 'js' };
      }
      // The author's TypeScript goes through the same erasable-only stripping as the relative-file
      // path (enums, namespaces, parameter properties are refused with ERR_PACK_TYPESCRIPT).
      if (isTypeScriptFile(id) && !id.includes('/node_modules/')) {
        const display = relative(request.root, id).split(sep).join('/');
        try {
          return { code: stripTypes(readFileSync(id, 'utf8'), display), moduleType: 'js' };
        } catch (error) {
          if (error instanceof SealboxError) hookError ??= error;
          throw error;
        }
      }
      return null;
    },
  };
}

async function bundle(): Promise<BundlerResult> {
  const refusals: Refusal[] = [];
  const build = await rolldown({
    input: request.entry,
    cwd: request.root,
    // Policy: browser/neutral code first. The sandbox has only ECMAScript built-ins, so a package's
    // browser build (no Node APIs) is the closest fit; `module` is not read (Node does not read it).
    platform: 'browser',
    resolve: {
      mainFields: ['browser', 'main'],
      conditionNames: ['browser', 'import', 'default'],
      symlinks: true,
    },
    treeshake: true,
    logLevel: 'silent',
    plugins: [sandboxPlugin(refusals)],
  });
  try {
    const out = await build.generate({
      format: 'esm',
      sourcemap: true,
      // Absolute paths in the map; the caller makes them project-relative.
      sourcemapPathTransform: (source, mapPath) => resolve(dirname(mapPath), source),
      codeSplitting: false,
      comments: { legal: true, annotation: false, jsdoc: false },
    });
    const chunk = out.output[0];
    return {
      code: chunk.code,
      map: chunk.map
        ? { sources: chunk.map.sources.map((s) => s ?? ''), mappings: chunk.map.mappings }
        : null,
      modules: Object.entries(chunk.modules).map(([id, m]) => ({ id, renderedLength: m.renderedLength })),
      refusals,
    };
  } finally {
    await build.close();
  }
}

function post(result: BundlerResult): void {
  port.postMessage(result);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
}

bundle().then(post, (error: unknown) => {
  const cause = hookError ?? (error as { errors?: unknown[] }).errors?.[0] ?? error;
  if (cause instanceof SealboxError) {
    post({ error: { code: cause.code, message: cause.message, details: { ...cause.details } } });
    return;
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  post({ error: { code: 'ERR_PACK_IMPORT', message, details: {} } });
});
