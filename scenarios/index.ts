import type { Scenario } from '../harness/scenario/types';
import { connectBlackholeScenario, lostFinScenario, lostFinSlowCloseScenario, partitionRejectScenario } from './lost-fin';
import { apiNoTimeoutScenario, dbFailoverHalfOpenScenario, redisStallScenario } from './fpm';
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
  partitionRejectScenario,
  // The modern PHP deployment (nginx + PHP-FPM, MariaDB, Redis sessions, an internal API).
  dbFailoverHalfOpenScenario,
  redisStallScenario,
  apiNoTimeoutScenario,
];
