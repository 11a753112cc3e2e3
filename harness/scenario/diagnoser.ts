import { ContainerProcReader, DEFAULT_STUCK_AFTER_MS, diagnose, toJson } from '../diagnose';
import { webSidecar } from '../topology/sidecars';
import type { StartedTopology } from '../topology/topology';
import type { Diagnoser } from './runner';
import { culpritOf, secondCulpritOf } from './culprit';
import type { WorkerSpec } from './types';

/**
 * Diagnoses the web tier of a running topology from the inside, without changing it: a toolbox
 * sidecar shares the web's PID and network namespaces with SYS_PTRACE (the `kubectl debug`
 * pattern) and the diagnoser reads /proc through it. Remote addresses are named through the
 * topology's service registry (the web only ever sees Toxiproxy's listeners).
 */
export function webDiagnoser(opts: { samples?: number; intervalMs?: number; stuckAfterMs?: number } = {}): Diagnoser {
  return async (topo: StartedTopology, signal: AbortSignal, workers: WorkerSpec) => {
    // The same SYS_PTRACE sidecar the pool probe reads through; it goes with the topology.
    const sidecar = await webSidecar(topo, 'ptrace');
    const d = await diagnose({
      reader: new ContainerProcReader(sidecar, { name: 'web' }),
      match: workers.match ?? new RegExp(workers.comm),
      registry: topo.registry,
      samples: opts.samples ?? 2,
      intervalMs: opts.intervalMs ?? 500,
      // The scenarios diagnose at least 6 s into their fault (schedule.ts DIAGNOSE_NOT_BEFORE_MS):
      // the default (5 s) names a pile-up that old, and not the requests of a fixed variant that
      // time out within their own deadlines.
      stuckAfterMs: opts.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS,
      signal,
    });
    const json = toJson(d);
    // Read back from the JSON the result carries, so the result and a matcher over it agree.
    const second = secondCulpritOf(json);
    return { json, culprit: culpritOf(json), ...(second ? { secondCulprit: second } : {}) };
  };
}
