import { startSidecar, type Sidecar } from '../engine/sidecar';
import type { StartedTopology } from './topology';

/**
 * The web container's sidecars, one of each kind per topology, started on first use and stopped
 * with the topology:
 * - `net-admin`: shares the network namespace with NET_ADMIN and NET_RAW (packet faults);
 * - `ptrace`: shares the PID and network namespaces with SYS_PTRACE and DAC_READ_SEARCH (pool
 *   occupancy, diagnosis).
 * Every other capability is dropped (engine/hardening.ts).
 */
export type SidecarKind = 'net-admin' | 'ptrace';

const started = new WeakMap<StartedTopology, Map<SidecarKind, Promise<Sidecar>>>();

export function webSidecar(topo: StartedTopology, kind: SidecarKind): Promise<Sidecar> {
  let byKind = started.get(topo);
  if (!byKind) started.set(topo, (byKind = new Map()));
  let sidecar = byKind.get(kind);
  if (!sidecar) {
    sidecar = startSidecar({
      docker: topo.docker,
      target: topo.web.container.getId(),
      sharePid: kind === 'ptrace',
      capabilities: [kind === 'ptrace' ? 'SYS_PTRACE' : 'NET_ADMIN'],
      labels: topo.run.labels,
      image: topo.toolboxImage,
    }).then((s) => {
      topo.onStop(() => s.stop());
      return s;
    });
    // A failed start is not cached: the next caller tries again.
    sidecar.catch(() => byKind!.delete(kind));
    byKind.set(kind, sidecar);
  }
  return sidecar;
}
