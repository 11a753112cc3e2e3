/**
 * Errors carry a stable `code` (tests assert the code, not the wording) and an optional `cause`.
 * `UsageError` is bad input from a user: the CLI prints its one-line message and exits 2.
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
  | 'FAULTLINE_PERMISSION';

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
