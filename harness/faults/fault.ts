import type { StartedTopology } from '../topology/topology';

export type FaultLayer = 'proxy' | 'packet' | 'node';

/**
 * What a fault did while it was in place, read just before its heal undid it: the counters of its
 * iptables rules, its toxic's presence and the traffic through its proxy, its container's state.
 * `confirmed: false` means the fault demonstrably did nothing (a rule no packet matched, a toxic
 * on a proxy nothing used, a pause the freezer undid): a run whose verdict rests on it proves
 * nothing, so the run ends `error`. `evidence` lists what was read, one fact a line.
 */
export interface FaultEffect {
  confirmed: boolean;
  evidence: string[];
}

/** A fault in place. `heal` is idempotent; the topology also heals it on stop (any exit). */
export interface ActiveFault {
  readonly name: string;
  readonly layer: FaultLayer;
  readonly description: string;
  heal(): Promise<void>;
  /**
   * What the fault did, once it was healed (read before the undo); undefined before the heal, or
   * when the fault has no way to tell.
   */
  readonly effect?: FaultEffect;
}

/** A fault not yet applied: what a scenario declares and the catalogue builds. */
export interface Fault {
  readonly name: string;
  readonly layer: FaultLayer;
  /** One line saying what really happens on the wire (not just the fault's name). */
  readonly description: string;
  inject(topo: StartedTopology): Promise<ActiveFault>;
}

/**
 * Wraps an undo step so it runs once, and registers it with the topology for any exit. `measure`
 * (when given) reads the fault's effect first: the evidence goes with the undo (rules deleted,
 * toxics removed), so it is read while the fault is still in place. A measurement that fails is
 * itself evidence, not a confirmation.
 */
export function activeFault(
  topo: StartedTopology,
  fault: Pick<Fault, 'name' | 'layer' | 'description'>,
  undo: () => Promise<void>,
  measure?: () => Promise<FaultEffect>,
): ActiveFault {
  let healing: Promise<void> | undefined;
  let effect: FaultEffect | undefined;
  const heal = () =>
    (healing ??= (async () => {
      if (measure) {
        // Asked twice: one exec lost to a loaded engine must not turn a working fault into an error.
        effect = await measure()
          .catch(() => measure())
          .catch((e: Error) => ({ confirmed: false, evidence: [`could not read the fault's effect: ${oneLine(e.message)}`] }));
      }
      await undo();
    })());
  topo.onStop(heal);
  return {
    name: fault.name,
    layer: fault.layer,
    description: fault.description,
    heal,
    get effect() {
      return effect;
    },
  };
}

export function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').trim().slice(0, 300);
}
