/**
 * Prometheus metrics of `sealbox serve` (prom-client, one registry per server): loads by result and
 * code, calls by tenant, identifier and outcome, call latency, calls in flight per tenant (the
 * queue depth the node sees), worker restarts. Label values are validated names or error codes.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { DecisionEvent } from '../loader.ts';

export interface ServeMetrics {
  readonly registry: Registry;
  load(event: DecisionEvent): void;
  call(tenant: string, identifier: string, outcome: string, seconds: number): void;
  inflight(tenant: string, delta: number): void;
}

export function createMetrics(restarts: () => number): ServeMetrics {
  const registry = new Registry();
  const loads = new Counter({
    name: 'sealbox_loads_total',
    help: 'Component loads by result (loaded, audited, refused) and error code',
    labelNames: ['result', 'code'] as const,
    registers: [registry],
  });
  const calls = new Counter({
    name: 'sealbox_calls_total',
    help: 'Calls by tenant, identifier and outcome (ok or the error code)',
    labelNames: ['tenant', 'identifier', 'outcome'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'sealbox_call_duration_seconds',
    help: 'Call latency through sealbox serve, seconds',
    labelNames: ['outcome'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const depth = new Gauge({
    name: 'sealbox_queue_depth',
    help: 'Calls in flight (running or queued) per tenant',
    labelNames: ['tenant'] as const,
    registers: [registry],
  });
  let reported = 0;
  new Counter({
    name: 'sealbox_worker_restarts_total',
    help: 'Sandbox worker processes replaced after a crash, hang or kill',
    registers: [registry],
    collect() {
      const now = restarts();
      if (now > reported) this.inc(now - reported);
      reported = Math.max(reported, now);
    },
  });
  return {
    registry,
    load: (event) => loads.inc({ result: event.result, code: event.code ?? 'none' }),
    call(tenant, identifier, outcome, seconds) {
      calls.inc({ tenant, identifier, outcome });
      latency.observe({ outcome: outcome === 'ok' ? 'ok' : 'error' }, seconds);
    },
    inflight: (tenant, delta) => depth.inc({ tenant }, delta),
  };
}
