import { collect, ContainerProcReader, poolOccupancy, type PoolOccupancy } from '../diagnose';
import { webSidecar } from '../topology/sidecars';
import type { StartedTopology } from '../topology/topology';

export type { PoolOccupancy };

/**
 * Reads worker occupancy from /proc of the web container, through a sidecar sharing its PID
 * namespace with SYS_PTRACE: when the pool is full, mod_status itself cannot be served, so /proc
 * is the only reliable view. It reads /proc with the diagnoser's ContainerProcReader (one exec of a
 * fixed script per sample, argv only: nothing from the input reaches a shell) and counts with the
 * diagnoser's own definitions of a pool worker and of an idle one (harness/diagnose/worker.ts),
 * so the occupancy a run records and its diagnosis cannot disagree.
 */
export class PoolProbe {
  constructor(
    private readonly topo: StartedTopology,
    private readonly workerComm = 'apache2',
  ) {}

  async sample(): Promise<PoolOccupancy> {
    const sidecar = await webSidecar(this.topo, 'ptrace');
    const collected = await collect(new ContainerProcReader(sidecar, { name: 'web' }), { samples: 1, intervalMs: 0 });
    const sample = collected.samples[0];
    return sample ? poolOccupancy(sample, this.workerComm) : { busy: 0, size: 0, workers: [] };
  }
}
