/**
 * The host-side scheduler alone (no worker): turns, pipelining of a component's calls, admission,
 * and jobs the worker hands back unrun.
 */
import { describe, expect, it } from 'vitest';
import { NotStartedError, Scheduler, type Job } from '../../src/sandbox/scheduler.ts';
import {
  hostBackstopMs,
  PIPELINE_WINDOW_MS,
  pipelinedBackstopMs,
  wallCeilingMs,
} from '../../src/sandbox/time-model.ts';

/** A job whose run can be finished from the test; records each start. */
interface Controlled {
  readonly job: Job<string>;
  readonly result: Promise<string>;
  /** ends the latest run: with a value, an error, or handed back */
  finish(outcome: string | Error): void;
  starts: number;
  /** ops ahead of it on the worker, per start */
  ahead: number[];
}

function controlled(
  tenant: string,
  lane: object | undefined,
  depth: number,
  scheduler: Scheduler,
  extra: Partial<Job<string>> = {},
): Controlled {
  let settle: ((outcome: string | Error) => void) | undefined;
  const c: Controlled = {
    starts: 0,
    ahead: [],
    finish(outcome) {
      const s = settle;
      settle = undefined;
      s?.(outcome);
    },
    job: {
      tenant,
      what: 'call',
      deadline: performance.now() + 60_000,
      maxWaiting: 100,
      lane,
      depth,
      run: (ahead) => {
        c.starts++;
        c.ahead.push(ahead);
        return new Promise<string>((resolve, reject) => {
          settle = (outcome) => (typeof outcome === 'string' ? resolve(outcome) : reject(outcome));
        });
      },
      ...extra,
    },
    result: Promise.resolve(''),
  };
  (c as { result: Promise<string> }).result = scheduler.submit(c.job);
  return c;
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function scheduler(concurrency = 4, onContention?: (tenant: string) => void): Scheduler {
  return new Scheduler({ concurrency, maxQueued: 1000, canStart: () => true, onContention });
}

describe('when one tenant sends calls of one component (layer: sandbox scheduler)', () => {
  it('sends up to the lane depth at once, the first unpipelined, the rest behind it', async () => {
    const s = scheduler();
    const lane = {};
    const jobs = Array.from({ length: 6 }, () => controlled('a', lane, 4, s));
    expect(jobs.map((j) => j.starts)).toEqual([1, 1, 1, 1, 0, 0]);
    expect(jobs.slice(0, 4).map((j) => j.ahead[0])).toEqual([0, 1, 2, 3]);
    expect(s.running).toBe(4);
    jobs[0]!.finish('r0');
    expect(await jobs[0]!.result).toBe('r0');
    await turn();
    // One finished, one more sent: never more than the depth in the worker.
    expect(jobs.map((j) => j.starts)).toEqual([1, 1, 1, 1, 1, 0]);
    expect(s.running).toBe(4);
  });

  it('never pipelines calls of another component: they wait until the lane is empty', async () => {
    const s = scheduler();
    const first = controlled('a', {}, 4, s);
    const other = controlled('a', {}, 4, s);
    expect(other.starts).toBe(0);
    first.finish('x');
    await first.result;
    await turn();
    expect(other.starts).toBe(1);
    expect(other.ahead).toEqual([0]);
  });

  it('does not pipeline when the job says its component cannot take it now', async () => {
    const s = scheduler();
    const lane = {};
    const first = controlled('a', lane, 4, s);
    const second = controlled('a', lane, 4, s, { canPipeline: () => false });
    expect(second.starts).toBe(0);
    first.finish('x');
    await first.result;
    await turn();
    expect(second.ahead).toEqual([0]);
  });

  it('stops topping a pipeline up while another tenant waits for a turn', async () => {
    const s = scheduler(1);
    const lane = {};
    const a1 = controlled('a', lane, 8, s);
    const a2 = controlled('a', lane, 8, s);
    expect(a2.starts).toBe(1);
    const b = controlled('b', {}, 8, s);
    const a3 = controlled('a', lane, 8, s);
    // b waits for the only turn: a3 is not sent behind a's calls, and b goes before it.
    expect(b.starts).toBe(0);
    expect(a3.starts).toBe(0);
    a1.finish('1');
    a2.finish('2');
    await Promise.all([a1.result, a2.result]);
    await turn();
    expect(b.starts).toBe(1);
    expect(a3.starts).toBe(0);
    b.finish('b');
    await b.result;
    await turn();
    expect(a3.starts).toBe(1);
  });

  it('holds at most PIPELINE_WINDOW_MS of work in a pipeline, judged by the budget before any op is timed', () => {
    const s = scheduler();
    const lane = {};
    const budgetMs = PIPELINE_WINDOW_MS / 2;
    const jobs = Array.from({ length: 6 }, () => controlled('a', lane, 64, s, { budgetMs }));
    // Two calls of half the window each fill it: the third waits.
    expect(jobs.map((j) => j.starts)).toEqual([1, 1, 0, 0, 0, 0]);
  });

  it('counts pipelined calls past the first as waiting for ERR_QUEUE_FULL', async () => {
    const s = scheduler();
    const lane = {};
    const jobs = Array.from({ length: 4 }, () => controlled('a', lane, 4, s, { maxWaiting: 3 }));
    expect(jobs.every((j) => j.starts === 1)).toBe(true);
    const refused = controlled('a', lane, 4, s, { maxWaiting: 3 });
    await expect(refused.result).rejects.toMatchObject({ code: 'ERR_QUEUE_FULL' });
  });
});

describe('when another tenant comes for a turn on a full worker (layer: sandbox scheduler)', () => {
  it('asks each pipelining tenant to yield once, and sends it nothing more until its calls are back', async () => {
    const asked: string[] = [];
    const s = scheduler(1, (tenant) => asked.push(tenant));
    const lane = {};
    const a = Array.from({ length: 3 }, () => controlled('a', lane, 8, s));
    expect(a.map((j) => j.starts)).toEqual([1, 1, 1]);
    const b = controlled('b', {}, 8, s);
    expect(asked).toEqual(['a']);
    const later = controlled('a', lane, 8, s);
    expect(later.starts).toBe(0);
    // The worker gives back the two calls that had not started; the first one ends.
    a[1]!.finish(new NotStartedError('yield', false));
    a[2]!.finish(new NotStartedError('yield', false));
    a[0]!.finish('0');
    await a[0]!.result;
    await turn();
    // b's turn comes before a's given-back calls run again.
    expect(b.starts).toBe(1);
    expect(a[1]!.starts).toBe(1);
    b.finish('b');
    await b.result;
    await turn();
    expect(a[1]!.starts).toBe(2);
    expect(asked).toEqual(['a']);
  });

  it('does not count calls given back by a yield towards the restart limit', async () => {
    const s = scheduler();
    const job = controlled('a', {}, 1, s);
    for (let i = 0; i < 6; i++) {
      job.finish(new NotStartedError('yield', false));
      await turn();
    }
    expect(job.starts).toBe(7);
    job.finish('done');
    expect(await job.result).toBe('done');
  });
});

describe('when the worker hands a job back unrun (layer: sandbox scheduler)', () => {
  it('runs it again in its place, before jobs submitted after it', async () => {
    const s = scheduler();
    const lane = {};
    const first = controlled('a', lane, 2, s);
    const second = controlled('a', lane, 2, s);
    const third = controlled('a', lane, 2, s);
    expect([first.starts, second.starts, third.starts]).toEqual([1, 1, 0]);
    // The second never started while the first runs on: it is sent again, ahead of the third.
    second.finish(new NotStartedError('test'));
    await turn();
    expect([second.starts, third.starts]).toEqual([2, 0]);
    second.finish('2');
    expect(await second.result).toBe('2');
    await turn();
    expect(third.starts).toBe(1);
    first.finish('1');
    third.finish('3');
    expect(await Promise.all([first.result, third.result])).toEqual(['1', '3']);
  });

  it('fails it with ERR_SANDBOX_CRASHED once it was handed back too often', async () => {
    const s = scheduler();
    const job = controlled('a', {}, 1, s);
    const outcome = job.result.catch((error: unknown) => error);
    for (let i = 0; i < 10; i++) {
      job.finish(new NotStartedError('test'));
      await turn();
    }
    expect(await outcome).toMatchObject({ code: 'ERR_SANDBOX_CRASHED' });
    // Three hand-backs are run again; the fourth fails it.
    expect(job.starts).toBe(4);
  });
});

describe('when a pipelined call waits behind others (layer: sandbox time model)', () => {
  it('gets a backstop that covers the calls ahead, never past what a Node timer holds', () => {
    const one = wallCeilingMs(1000);
    expect(pipelinedBackstopMs(one, 0)).toBe(one);
    expect(pipelinedBackstopMs(one, 3)).toBe(4 * one);
    // The widest policy: 10,000 calls of 60 s budgets would overflow a timer, which then fires at once.
    const widest = pipelinedBackstopMs(hostBackstopMs(60_000), 9_999);
    expect(widest).toBe(2 ** 31 - 1);
  });
});
