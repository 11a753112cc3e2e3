/**
 * The names of a run's phases, defined once: the schedule helper writes them, the judge finds its
 * window by them, the report draws them. A scenario written against `ScenarioContext` may name
 * its own phases; the judge's default reads only `observe`.
 */
export const PHASE = {
  /** Health probe and the users' first requests answer, before any fault. */
  steady: 'steady',
  /** The fault goes in (and whatever must be in flight when it lands). */
  inject: 'inject',
  /** The fault in place, under load: the verdict's window. */
  observe: 'observe',
  /** The load stops and the fault is removed. */
  heal: 'heal',
  /** After the heal: how long until health answers again (`recoveryMs`). */
  recover: 'recover',
} as const;

export type PhaseName = (typeof PHASE)[keyof typeof PHASE];

/**
 * Where a run's seconds go, in order: `start` (the topology, before the first phase) and
 * `teardown` (after the last) around the phases themselves. `bench:scenarios` prints these.
 */
export const RUN_STAGES = ['start', PHASE.steady, PHASE.inject, PHASE.observe, PHASE.heal, PHASE.recover, 'teardown'] as const;
export type RunStage = (typeof RUN_STAGES)[number];
