import type { Scenario } from '../harness/scenario/types';
import { lostFinScenario, lostFinSlowCloseScenario } from './lost-fin';

/** The bundled incident library, in the order `faultline run` runs it. */
export const SCENARIOS: readonly Scenario[] = [lostFinScenario, lostFinSlowCloseScenario];
