/**
 * The argv walk that `diagnose` and `watch` share (below the CLI, so the watch library can use it):
 * `--flag value` or `--flag=value`, a value that looks like another flag is refused, and a flag
 * given twice is refused unless it may repeat. Each flag is handed to `take` with a reader of its
 * value; every bad input is a one-line UsageError naming the command and the flag.
 */
import { UsageError } from '../errors';

export function walkFlags(
  command: string,
  args: readonly string[],
  take: (flag: string, value: () => string, arg: string) => void,
  repeatable: ReadonlySet<string> = new Set(),
): void {
  const seen = new Set<string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = args[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new UsageError(`${command}: ${flag} needs a value (see faultline ${command} --help)`);
      }
      i++;
      return next;
    };
    if (seen.has(flag) && !repeatable.has(flag)) throw new UsageError(`${command}: ${flag} given twice: give it once`);
    seen.add(flag);
    take(flag, value, arg);
  }
}

/**
 * A flag's value as a whole number from `min` to `max` (digits only: no sign, no exponent, no
 * fraction); else a UsageError with `message`, which names the flag, the value and the range.
 */
export function wholeNumber(raw: string, min: number, max: number, message: () => string): number {
  const n = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(message());
  return n;
}
