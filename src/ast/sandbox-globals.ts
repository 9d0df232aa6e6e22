/**
 * The names the sandbox's global scope holds, as data the packer and the policy checker share:
 * what a component may expect to exist (SANDBOX_GLOBALS) and what the isolate's V8 context really
 * has before the bootstrap removes anything (CONTEXT_GLOBALS).
 */
import { FrozenSet } from './frozen-set.ts';

/**
 * ECMAScript built-in globals that exist inside the sandbox, plus `Component` (the frozen base the
 * sandbox defines). Host names (`process`, `require`, timers, `fetch`, `console`) are absent.
 *
 * Policy: `eval`, `Function`, `WebAssembly`, `SharedArrayBuffer` and `Atomics` are deliberately
 * absent: the sandbox removes or neuters them (code generation, memory outside the limit, shared
 * memory timing), so a packed class that names them could never work where it is loaded.
 */
export const SANDBOX_GLOBALS: ReadonlySet<string> = new FrozenSet<string>(
  [
    // value properties
    'globalThis',
    'undefined',
    'NaN',
    'Infinity',
    // function properties
    'isNaN',
    'isFinite',
    'parseInt',
    'parseFloat',
    'encodeURI',
    'encodeURIComponent',
    'decodeURI',
    'decodeURIComponent',
    // Annex B, present in V8
    'escape',
    'unescape',
    // fundamental objects
    'Object',
    'Boolean',
    'Symbol',
    'Error',
    'AggregateError',
    'EvalError',
    'RangeError',
    'ReferenceError',
    'SyntaxError',
    'TypeError',
    'URIError',
    'SuppressedError',
    // numbers, text, dates
    'Number',
    'BigInt',
    'Math',
    'Date',
    'String',
    'RegExp',
    // collections
    'Array',
    'Map',
    'Set',
    'WeakMap',
    'WeakSet',
    'WeakRef',
    'FinalizationRegistry',
    // binary data
    'ArrayBuffer',
    'DataView',
    'Int8Array',
    'Uint8Array',
    'Uint8ClampedArray',
    'Int16Array',
    'Uint16Array',
    'Int32Array',
    'Uint32Array',
    'Float16Array',
    'Float32Array',
    'Float64Array',
    'BigInt64Array',
    'BigUint64Array',
    // structured data, control abstraction, reflection
    'JSON',
    'Promise',
    'Iterator',
    'Proxy',
    'Reflect',
    // explicit resource management (ES2026), present in Node 26's V8
    'DisposableStack',
    'AsyncDisposableStack',
    // ECMA-402, present in V8 isolates
    'Intl',
    // the sandbox's base class
    'Component',
  ],
  'SANDBOX_GLOBALS',
);

/**
 * Properties of the global object in the sandbox's V8 context (measured with isolated-vm 7 on Node
 * 26), whatever the policy allows: SANDBOX_GLOBALS plus what V8 adds or the bootstrap removes later.
 * The checker treats a top-level `var` of one of these names as a use of the global.
 */
export const CONTEXT_GLOBALS: ReadonlySet<string> = new FrozenSet<string>(
  [
    ...SANDBOX_GLOBALS,
    'eval',
    'Function',
    'WebAssembly',
    'SharedArrayBuffer',
    'Atomics',
    'console',
    'escape',
    'unescape',
    'Temporal',
    'Float16Array',
    'SuppressedError',
    'DisposableStack',
    'AsyncDisposableStack',
  ],
  'CONTEXT_GLOBALS',
);
