/**
 * Cold-load workload: a realistic component class of a given number of source lines (a text
 * chunker with many small helper methods), so cold load can be measured at 200 lines and its
 * growth with source size shown. `first()` is the first call whose result ends the cold load.
 */
import type { WorkloadComponent } from '../peers/engine.ts';

/** Class name of the generated component. */
export const COLD_ENTRY = 'TextChunker';

/**
 * Builds the component source with about `lines` lines (at least 40).
 * @param lines - target line count (200 is the figure)
 */
export function coldComponentSource(lines: number): string {
  const out: string[] = [
    `class ${COLD_ENTRY} extends Component {`,
    '  constructor(params, context) {',
    '    super(params, context);',
    '    this.size = params.size;',
    '    this.overlap = params.overlap;',
    '    this.stats = { calls: 0 };',
    '  }',
    '',
    '  normalize(text) {',
    "    return text.replace(/\\s+/g, ' ').trim();",
    '  }',
    '',
    '  chunk(text) {',
    '    const words = this.normalize(text).split(" ");',
    '    const chunks = [];',
    '    const step = Math.max(1, this.size - this.overlap);',
    '    for (let i = 0; i < words.length; i += step) {',
    '      chunks.push(words.slice(i, i + this.size).join(" "));',
    '      if (i + this.size >= words.length) break;',
    '    }',
    '    return chunks;',
    '  }',
    '',
  ];
  let helper = 0;
  // Each helper is 9 lines; stop before the closing lines push past the target.
  while (out.length + 9 + 8 <= lines) {
    out.push(
      `  helper${helper}(values) {`,
      '    let total = 0;',
      '    for (const value of values) {',
      `      total += typeof value === 'number' ? value * ${helper + 1} : String(value).length;`,
      '    }',
      `    this.stats.calls += 1;`,
      `    return { name: 'helper${helper}', total };`,
      '  }',
      '',
    );
    helper++;
  }
  out.push(
    '  first() {',
    "    const text = 'Sealbox ships signed component classes between services and runs them in sandboxes.';",
    '    const chunks = this.chunk(text);',
    `    return { chunks: chunks.length, first: chunks[0], helpers: ${helper} };`,
    '  }',
    '}',
  );
  return out.join('\n') + '\n';
}

/**
 * The cold-load component with about `lines` source lines.
 * @param lines - target line count
 */
export function coldComponent(lines = 200): WorkloadComponent {
  return {
    source: coldComponentSource(lines),
    entry: COLD_ENTRY,
    params: { size: 5, overlap: 1 },
    artifacts: {},
  };
}
