import type { Scenario } from '../harness/scenario/types';
import { connectBlackholeScenario, lostFinScenario, lostFinSlowCloseScenario, partitionRejectScenario } from './lost-fin';
import { apiNoTimeoutScenario, dbFailoverHalfOpenScenario, redisStallScenario } from './fpm';
import { partitionHealScenario, resetMidTransferScenario, slowNodeScenario, stalledWriteScenario } from './uploads';

/**
 * `faultline/scenarios`: the bundled incident library and the building blocks its scenarios are
 * made of, for users who reuse them. The main entry (`faultline`) does not load this module.
 */
export { profileUnderFault, lostFinScenario, lostFinSlowCloseScenario, connectBlackholeScenario } from './lost-fin';
export { upload, stalledWriteScenario, slowNodeScenario, resetMidTransferScenario, partitionHealScenario } from './uploads';
export { fpmStack, FPM_WORKERS, dbFailoverHalfOpenScenario, redisStallScenario, apiNoTimeoutScenario } from './fpm';

/** The bundled incident library, in the order `faultline run` runs it. */
export const SCENARIOS: readonly Scenario[] = [
  lostFinScenario,
  stalledWriteScenario,
  slowNodeScenario,
  connectBlackholeScenario,
  resetMidTransferScenario,
  partitionHealScenario,
  lostFinSlowCloseScenario,
  partitionRejectScenario,
  // The modern PHP deployment (nginx + PHP-FPM, MariaDB, Redis sessions, an internal API).
  dbFailoverHalfOpenScenario,
  redisStallScenario,
  apiNoTimeoutScenario,
];
