/**
 * Round-trip workload: a component whose method returns its argument, so a call measures only
 * the engine's boundary (argument copy in, result copy out, scheduling), not the work.
 */
import type { WorkloadComponent } from '../peers/engine.ts';

/** The echo component. */
export const ECHO_COMPONENT: WorkloadComponent = {
  source: `
class Echo extends Component {
  echo(value) {
    return value;
  }
}
`,
  entry: 'Echo',
  params: {},
  artifacts: {},
};

/** The argument each round trip carries: a small realistic JSON object. */
export const ECHO_ARGUMENT = { id: 42, text: 'hello sealbox', tags: ['a', 'b'], score: 0.5 };
