/** Hard limit for one scenario run's body (steady state to heal and checks). */
export const RUN_TIMEOUT_MS = 240_000;
