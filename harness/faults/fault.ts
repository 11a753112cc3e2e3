import type { StartedTopology } from '../topology/topology';

export type FaultLayer = 'proxy' | 'packet' | 'node';

/** A fault in place. `heal` is idempotent; the topology also heals it on stop (any exit). */
export interface ActiveFault {
  readonly name: string;
  readonly layer: FaultLayer;
  readonly description: string;
  heal(): Promise<void>;
}

/** A fault not yet applied: what a scenario declares and the catalogue builds. */
export interface Fault {
  readonly name: string;
  readonly layer: FaultLayer;
  /** One line saying what really happens on the wire (not just the fault's name). */
  readonly description: string;
  inject(topo: StartedTopology): Promise<ActiveFault>;
}

/** Wraps an undo step so it runs once, and registers it with the topology for any exit. */
export function activeFault(
  topo: StartedTopology,
  fault: Pick<Fault, 'name' | 'layer' | 'description'>,
  undo: () => Promise<void>,
): ActiveFault {
  let healing: Promise<void> | undefined;
  const heal = () => (healing ??= undo());
  topo.onStop(heal);
  return { name: fault.name, layer: fault.layer, description: fault.description, heal };
}
