import { UsageError } from '../../harness/errors';

/** Runs `f`, expects a one-line UsageError and returns its message (for asserting what it names). */
export function usage(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    expect((e as Error).message).not.toContain('\n');
    return (e as Error).message;
  }
  throw new Error('expected a UsageError');
}
