import type { Scenario } from '../harness/scenario/types';
import { connectBlackholeScenario, lostFinScenario, lostFinSlowCloseScenario } from './lost-fin';
import { partitionHealScenario, resetMidTransferScenario, slowNodeScenario, stalledWriteScenario } from './uploads';

/** The bundled incident library, in the order `faultline run` runs it. */
export const SCENARIOS: readonly Scenario[] = [
  lostFinScenario,
  stalledWriteScenario,
  slowNodeScenario,
  connectBlackholeScenario,
  resetMidTransferScenario,
  partitionHealScenario,
  lostFinSlowCloseScenario,
];
