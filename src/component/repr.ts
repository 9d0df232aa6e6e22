/** The statement's `repr`: a short, Python-like description for logs and `inspect`. */
import type { JsonValue } from '../envelope/types.ts';

/** Longest `repr` the packer writes, in UTF-16 code units. */
export const MAX_REPR_LENGTH = 200;

const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

// Control characters are escaped: repr is shown in logs and terminals (injection).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g;

function quote(text: string): string {
  return `'${text.replace(/[\\']/g, (c) => `\\${c}`).replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}'`;
}

class TextPiece {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/**
 * A compact rendering of a JSON value, `{lowercase: true, stop: ['a', 'b']}`, stopping once it is
 * longer than `budget` characters (iterative: deep values cannot overflow the stack).
 */
export function formatJsonShort(value: JsonValue, budget = MAX_REPR_LENGTH): string {
  let out = '';
  const stack: (JsonValue | TextPiece)[] = [value];
  while (stack.length > 0 && out.length <= budget) {
    const v = stack.pop() as JsonValue | TextPiece;
    if (v instanceof TextPiece) {
      out += v.text;
    } else if (v === null || typeof v !== 'object') {
      out += typeof v === 'string' ? quote(v) : String(v);
    } else if (Array.isArray(v)) {
      const items: (JsonValue | TextPiece)[] = [new TextPiece('[')];
      (v as JsonValue[]).forEach((item, i) => {
        if (i > 0) items.push(new TextPiece(', '));
        items.push(item);
      });
      items.push(new TextPiece(']'));
      for (let i = items.length - 1; i >= 0; i--) stack.push(items[i] as JsonValue | TextPiece);
    } else {
      const items: (JsonValue | TextPiece)[] = [new TextPiece('{')];
      Object.keys(v)
        .sort()
        .forEach((key, i) => {
          items.push(new TextPiece(`${i > 0 ? ', ' : ''}${IDENT.test(key) ? key : quote(key)}: `));
          items.push((v as Record<string, JsonValue>)[key] as JsonValue);
        });
      items.push(new TextPiece('}'));
      for (let i = items.length - 1; i >= 0; i--) stack.push(items[i] as JsonValue | TextPiece);
    }
  }
  return out;
}

/**
 * `Tokenizer(identifier='tok', version=3, params={lowercase: true})`, at most
 * {@link MAX_REPR_LENGTH} characters (cut with `…`).
 */
export function makeRepr(entry: string, identifier: string, version: number, params: JsonValue): string {
  const head = `${entry}(identifier=${quote(identifier)}, version=${version}, params=`;
  const full = `${head}${formatJsonShort(params, MAX_REPR_LENGTH)})`;
  return full.length > MAX_REPR_LENGTH ? `${full.slice(0, MAX_REPR_LENGTH - 2)}…)` : full;
}
