/**
 * Which processes a diagnosis looks at: the `--match`, `--pid` and `--container` flags that
 * `diagnose` and `watch` share, checked once, here (below the CLI, so the watch library can use
 * them too). Each bad value is a one-line UsageError naming the command and the flag.
 */
import { UsageError } from '../errors';

/**
 * A command line is matched against every process: a pattern of thousands of characters is a
 * mistake (a pasted file), and V8 refuses very large ones only when first used, mid-diagnosis.
 */
export const MAX_MATCH_LENGTH = 1000;
/** The kernel's PID_MAX_LIMIT (2^22): no PID is larger on any Linux. */
const MAX_PID = 4_194_304;
/** More processes than a pool holds would be a paste of `pgrep` over the whole machine. */
const MAX_PIDS = 1024;
/** Docker names and ids stay far below this; a longer value is not a container. */
const MAX_CONTAINER_LENGTH = 128;

export const shorten = (v: string): string => (v.length > 60 ? `${v.slice(0, 60)}…` : v);

export interface ProcessTarget {
  match?: RegExp;
  pids?: number[];
  container?: string;
}

export function parseMatchFlag(command: string, pattern: string): RegExp {
  if (pattern === '') throw new UsageError(`${command}: --match needs a non-empty regular expression, e.g. --match "apache2|php-fpm"`);
  if (pattern.length > MAX_MATCH_LENGTH) {
    throw new UsageError(`${command}: --match is ${pattern.length} characters long: give a pattern of at most ${MAX_MATCH_LENGTH}, e.g. --match "apache2|php-fpm"`);
  }
  try {
    const re = new RegExp(pattern);
    re.test(''); // V8 reports some invalid patterns (too large) only on first use
    return re;
  } catch (e) {
    throw new UsageError(`${command}: --match "${shorten(pattern)}" is not a valid regular expression (${shorten((e as Error).message)}): fix the pattern`);
  }
}

export function parsePidFlag(command: string, raw: string): number[] {
  const pids = raw.split(',').map((s) => s.trim());
  if (pids.some((p) => !/^[1-9][0-9]{0,6}$/.test(p) || Number(p) > MAX_PID)) {
    throw new UsageError(`${command}: --pid "${shorten(raw)}" must be process ids from 1 to ${MAX_PID} separated by commas, e.g. --pid 1234,1235`);
  }
  const unique = [...new Set(pids.map(Number))];
  if (unique.length > MAX_PIDS) throw new UsageError(`${command}: --pid names ${unique.length} processes: give at most ${MAX_PIDS} (or use --match)`);
  return unique;
}

export function parseContainerFlag(command: string, name: string): string {
  if (name.length > MAX_CONTAINER_LENGTH || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    throw new UsageError(`${command}: --container "${shorten(name)}" is not a container name or id (letters, digits, _ . -, at most ${MAX_CONTAINER_LENGTH})`);
  }
  return name;
}

/**
 * Takes `flag` when it is one of the three (reading its value through `value`) and says so; the
 * caller's own flags are its business.
 */
export function takeTargetFlag(command: string, flag: string, value: () => string, target: ProcessTarget): boolean {
  if (flag === '--match') target.match = parseMatchFlag(command, value());
  else if (flag === '--pid') target.pids = parsePidFlag(command, value());
  else if (flag === '--container') target.container = parseContainerFlag(command, value());
  else return false;
  return true;
}

/** The checks across the three: one of them is needed, and --match and --pid exclude each other. */
export function checkTarget(command: string, t: ProcessTarget): void {
  if (!t.match && !t.pids && !t.container) {
    throw new UsageError(`${command}: say which processes: --match REGEX, --pid N[,N...] or --container NAME`);
  }
  if (t.match && t.pids) throw new UsageError(`${command}: give --match or --pid, not both`);
}
