import { describe, expect, it } from 'vitest';
import {
  decodeFrame,
  encodeCallFrame,
  encodeJsonFrame,
  encodeLoadFrame,
  encodeResultFrame,
  FrameReader,
} from '../../src/sandbox/protocol.ts';

const call = {
  t: 'call',
  id: 2 ** 40,
  key: 7,
  method: 'échø',
  args: '["\\"x\\"",{"a":"ü"}]',
  budgetMs: 999,
  deadlineMs: 1234.5,
  pipelined: true,
} as const;

describe('when frames cross the worker pipe', () => {
  it('round-trips calls, results, loads and JSON messages, split at any byte', () => {
    const load = {
      t: 'load',
      id: 1,
      key: 2,
      tenantKey: 3,
      memoryMb: 64,
      budgetMs: 1000,
      filename: 'sealbox:x',
      entry: 'X',
      source: 'class X extends Component {}',
      sourceSha256: 'ab'.repeat(32),
      meta: '{}',
      artifactNames: ['a', 'b'],
      artifactBytes: [new Uint8Array([1, 2, 3]), new Uint8Array([])],
    } as const;
    const stream = Buffer.concat([
      encodeCallFrame(call),
      encodeResultFrame(5, 'R{"ok":"ß"}'),
      encodeLoadFrame(load),
      encodeJsonFrame({ t: 'pong', n: 1 }),
    ]);
    for (let cut = 0; cut <= stream.length; cut++) {
      const reader = new FrameReader(() => 1 << 20);
      const frames = [...reader.push(stream.subarray(0, cut)), ...reader.push(stream.subarray(cut))];
      expect(frames.map((f) => decodeFrame(f))).toEqual([
        call,
        { t: 'done', id: 5, r: 'R{"ok":"ß"}' },
        { ...load, artifactBytes: [new Uint8Array([1, 2, 3]), new Uint8Array([])] },
        { t: 'pong', n: 1 },
      ]);
    }
  });

  it('throws before buffering a frame larger than the bound (memory exhaustion by a hostile worker)', () => {
    const reader = new FrameReader(() => 64);
    const header = Buffer.alloc(4);
    header.writeUInt32LE(0xffffffff, 0);
    expect(() => reader.push(header)).toThrow(RangeError);
  });

  it('throws on an empty frame and on an unknown kind', () => {
    expect(() => new FrameReader(() => 64).push(Buffer.alloc(4))).toThrow(RangeError);
    expect(() => decodeFrame(Buffer.from([99]))).toThrow(RangeError);
  });

  it('throws on a truncated result frame', () => {
    expect(() => decodeFrame(Buffer.from([3, 0, 0]))).toThrow(RangeError);
  });
});
