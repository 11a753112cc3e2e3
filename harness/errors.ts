/**
 * Errors carry a stable `code` (tests assert the code, not the wording) and an optional `cause`.
 * `UsageError` is bad input from a user: the CLI prints its one-line message and exits 2. Every
 * other code is the world failing the harness (engine, images, permissions ...): exit 3.
 */
export type FaultlineErrorCode =
  | 'FAULTLINE_USAGE'
  | 'FAULTLINE_DOCKER_UNAVAILABLE'
  | 'FAULTLINE_IMAGE_BUILD_FAILED'
  | 'FAULTLINE_TOPOLOGY_START_FAILED'
  | 'FAULTLINE_TIMEOUT'
  | 'FAULTLINE_FAULT_FAILED'
  | 'FAULTLINE_SCENARIO_FAILED'
  | 'FAULTLINE_DIAGNOSE_FAILED'
  | 'FAULTLINE_PERMISSION'
  | 'FAULTLINE_ENVIRONMENT';

export class FaultlineError extends Error {
  readonly code: FaultlineErrorCode;

  constructor(code: FaultlineErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** Bad input: names the field or flag and how to fix it. Exit code 2, no stack trace. */
export class UsageError extends FaultlineError {
  constructor(message: string) {
    super('FAULTLINE_USAGE', message);
  }
}

export function isFaultlineError(e: unknown): e is FaultlineError {
  return e instanceof FaultlineError;
}

/**
 * The CLI's exit codes, one mapping for every command. 1 is never an error: it is the answer
 * "an outcome differed" (run) or "a culprit was found" (diagnose), so scripts can tell a finding
 * from a failure to look. 4 is diagnose's "inconclusive": it looked, and what decides could not
 * be read (permissions, an unknown architecture …): neither a finding nor an all-clear.
 */
export const EXIT = { ok: 0, finding: 1, usage: 2, environment: 3, inconclusive: 4, interrupted: 130 } as const;

/** A Record, so a new code cannot be added without deciding its exit code. */
const EXIT_CODE_OF: Record<FaultlineErrorCode, number> = {
  FAULTLINE_USAGE: EXIT.usage,
  FAULTLINE_DOCKER_UNAVAILABLE: EXIT.environment,
  FAULTLINE_IMAGE_BUILD_FAILED: EXIT.environment,
  FAULTLINE_TOPOLOGY_START_FAILED: EXIT.environment,
  FAULTLINE_TIMEOUT: EXIT.environment,
  FAULTLINE_FAULT_FAILED: EXIT.environment,
  FAULTLINE_SCENARIO_FAILED: EXIT.environment,
  FAULTLINE_DIAGNOSE_FAILED: EXIT.environment,
  FAULTLINE_PERMISSION: EXIT.environment,
  FAULTLINE_ENVIRONMENT: EXIT.environment,
};

/** The exit code for an error that stopped a command (an unexpected one, a bug, is environment too: never 1). */
export function exitCodeFor(e: unknown): number {
  return isFaultlineError(e) ? EXIT_CODE_OF[e.code] : EXIT.environment;
}
