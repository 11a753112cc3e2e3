/** What a CLI command gets: its arguments, streams and environment (never read from globals). */
export interface CliIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  /** Aborted on the first Ctrl+C / SIGTERM: long work stops and cleans up. */
  signal: AbortSignal;
}

/** A subcommand: returns the exit code (0 ok, 1 expectation not met, 2 usage). */
export type Command = (args: string[], io: CliIO) => Promise<number>;
