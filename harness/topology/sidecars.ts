import { startSidecar, type Sidecar } from '../engine/sidecar';
import type { StartedTopology } from './started';

/**
 * Sidecars, at most one of each kind per network namespace of a topology, started on first use
 * and stopped with the topology (each labelled with the run and its target: engine/cleanup.ts
 * removes their iptables rules and them, whatever the exit):
 * - `net-admin`: shares the network namespace with NET_ADMIN and NET_RAW (packet faults). Packet
 *   faults drop a packet where the network would: on arrival, in the *receiver's* namespace. So
 *   there is one in the web's namespace (packets to the web), one in Toxiproxy's (packets from the
 *   web, or from a service, to the proxy) and one in a service's (packets from Toxiproxy to it),
 *   each started only when a fault needs it;
 * - `ptrace`: shares the PID and network namespaces with SYS_PTRACE and DAC_READ_SEARCH (pool
 *   occupancy, diagnosis); only in the web's.
 * Every other capability is dropped (engine/hardening.ts).
 */
export type SidecarKind = 'net-admin' | 'ptrace';

/** A network namespace of the topology: the web's, Toxiproxy's, or a service's (by name). */
export type Netns = { of: 'web' } | { of: 'toxiproxy' } | { of: 'service'; name: string };

const started = new WeakMap<StartedTopology, Map<string, Promise<Sidecar>>>();

/** The container whose namespace `ns` is. */
export function netnsContainerId(topo: StartedTopology, ns: Netns): string {
  if (ns.of === 'web') return topo.web.container.getId();
  if (ns.of === 'toxiproxy') return topo.toxiproxy.container.getId();
  return topo.service(ns.name).container.getId();
}

/** One line naming a namespace, for descriptions and evidence. */
export function netnsName(ns: Netns): string {
  return ns.of === 'service' ? `${ns.name}'s netns` : `${ns.of === 'web' ? "the web's" : "Toxiproxy's"} netns`;
}

/** The sidecar of `kind` in namespace `ns` (the NET_ADMIN one, unless a ptrace one is asked of the web). */
export function netnsSidecar(topo: StartedTopology, ns: Netns, kind: SidecarKind = 'net-admin'): Promise<Sidecar> {
  let byKey = started.get(topo);
  if (!byKey) started.set(topo, (byKey = new Map()));
  const target = netnsContainerId(topo, ns);
  const key = `${target}:${kind}`;
  let sidecar = byKey.get(key);
  if (!sidecar) {
    sidecar = startSidecar({
      docker: topo.docker,
      target,
      sharePid: kind === 'ptrace',
      capabilities: [kind === 'ptrace' ? 'SYS_PTRACE' : 'NET_ADMIN'],
      labels: topo.run.labels,
      image: topo.toolboxImage,
    }).then((s) => {
      topo.onStop(() => s.stop());
      return s;
    });
    // A failed start is not cached: the next caller tries again.
    sidecar.catch(() => byKey!.delete(key));
    byKey.set(key, sidecar);
  }
  return sidecar;
}

/** The web container's sidecar of `kind`. */
export function webSidecar(topo: StartedTopology, kind: SidecarKind): Promise<Sidecar> {
  return netnsSidecar(topo, { of: 'web' }, kind);
}
