/**
 * `faultline watch` options: parsed once into a complete config (the rest of the code never sees
 * a half-filled one), then the inputs that name things on this host are checked (the out
 * directory is writable, the --on-stuck program exists, the services file parses) before anything
 * starts. Which processes to watch is parsed by diagnose's own parser: one definition of what a
 * valid --match, --pid or --container is.
 */
import { accessSync, constants, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { UsageError } from '../errors';
import { walkFlags, wholeNumber } from '../util/argv';
import { checkTarget, shorten, takeTargetFlag, type ProcessTarget } from '../util/targets';
import type { ServiceRegistry } from '../diagnose';
import { readServicesFile } from './services';

export const DEFAULT_INTERVAL_S = 5;
export const DEFAULT_STUCK_FOR = 3;
export const DEFAULT_LISTEN = '127.0.0.1:9464';
export const DEFAULT_OUT = 'faultline-incidents';
export const DEFAULT_KEEP = 20;
/** Each tick takes two samples this far apart: two tell stuck from slow (diagnose's default). */
export const SAMPLE_GAP_MS = 250;
/** The tick must leave room for its two samples and their reading. */
const MIN_INTERVAL_S = 0.5;
const MAX_INTERVAL_S = 3600;

export interface WatchTarget {
  match?: RegExp;
  pids?: number[];
  container?: string;
}

export interface WatchOptions {
  target: WatchTarget;
  intervalMs: number;
  listen: { host: string; port: number };
  out: string;
  keep: number;
  /** Absolute path of the program run as `PROGRAM SNAPSHOT.json` (never through a shell). */
  onStuck?: string;
  stuckFor: number;
  servicesFile?: string;
  once: boolean;
  json: boolean;
  help: boolean;
}


/** Pure: argv to a complete config; every bad value names its flag and how to fix it. */
export function parseWatchArgs(args: string[]): WatchOptions {
  const out: WatchOptions = {
    target: {},
    intervalMs: DEFAULT_INTERVAL_S * 1000,
    listen: parseListen(DEFAULT_LISTEN),
    out: DEFAULT_OUT,
    keep: DEFAULT_KEEP,
    stuckFor: DEFAULT_STUCK_FOR,
    once: false,
    json: false,
    help: false,
  };
  const target: ProcessTarget = {};
  walkFlags('watch', args, (flag, value, arg) => {
    if (takeTargetFlag('watch', flag, value, target)) return;
    switch (flag) {
      case '-h':
      case '--help':
        out.help = true;
        break;
      case '--once':
        out.once = true;
        break;
      case '--json':
        out.json = true;
        break;
      case '--interval': {
        const raw = value();
        const s = /^[0-9]{1,4}(\.[0-9]{1,3})?$/.test(raw) ? Number(raw) : NaN;
        if (!(s >= MIN_INTERVAL_S && s <= MAX_INTERVAL_S)) {
          throw new UsageError(`watch: --interval "${shorten(raw)}" must be seconds from ${MIN_INTERVAL_S} to ${MAX_INTERVAL_S}, e.g. --interval ${DEFAULT_INTERVAL_S}`);
        }
        out.intervalMs = Math.round(s * 1000);
        break;
      }
      case '--listen':
        out.listen = parseListen(value());
        break;
      case '--out': {
        const dir = value();
        if (dir === '') throw new UsageError('watch: --out needs a directory, e.g. --out /var/lib/faultline/incidents');
        out.out = dir;
        break;
      }
      case '--keep': {
        const raw = value();
        out.keep = wholeNumber(raw, 1, 10_000, () => `watch: --keep "${shorten(raw)}" must be a whole number of snapshots from 1 to 10000 (default ${DEFAULT_KEEP})`);
        break;
      }
      case '--on-stuck': {
        const program = value();
        if (program === '') throw new UsageError('watch: --on-stuck needs a program, e.g. --on-stuck /usr/local/bin/page-oncall');
        out.onStuck = program;
        break;
      }
      case '--stuck-for': {
        const raw = value();
        out.stuckFor = wholeNumber(raw, 1, 1000, () => `watch: --stuck-for "${shorten(raw)}" must be a whole number of consecutive stuck samples from 1 to 1000 (default ${DEFAULT_STUCK_FOR})`);
        break;
      }
      case '--services': {
        const file = value();
        if (file === '') throw new UsageError('watch: --services needs a JSON file, e.g. --services /etc/faultline/services.json');
        out.servicesFile = file;
        break;
      }
      default:
        throw new UsageError(`watch: unknown argument "${shorten(arg)}" (see faultline watch --help)`);
    }
  });
  if (out.help) return out;
  checkTarget('watch', target);
  out.target = target;
  return out;
}

function parseListen(raw: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/.exec(raw);
  if (!m || Number(m[2]) > 65535) {
    throw new UsageError(`watch: --listen "${shorten(raw)}" must be HOST:PORT with a port from 0 to 65535, e.g. --listen ${DEFAULT_LISTEN}`);
  }
  return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** What the checks of the host found: the resolved program, the parsed registry. */
export interface CheckedInputs {
  onStuck?: string;
  registry?: ServiceRegistry;
  out: string;
}

/**
 * Checks what the options name on this host, before anything starts: a watcher that would find
 * out at its first incident that it cannot write the snapshot, or that its pager does not exist,
 * has failed silently for as long as it ran.
 */
export function checkInputs(o: WatchOptions, env: NodeJS.ProcessEnv, cwd = process.cwd()): CheckedInputs {
  const registry = o.servicesFile ? readServicesFile(o.servicesFile, 'watch: --services') : undefined;
  const onStuck = o.onStuck ? resolveProgram(o.onStuck, env, cwd) : undefined;
  const out = resolve(cwd, o.out);
  // --once without a finding writes nothing: still check, so a cron job fails on its first run.
  checkWritableDir(out);
  return { onStuck, registry, out };
}

function checkWritableDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    // access(W_OK) is true for root on a read-only mount: only a real write tells.
    const probe = join(dir, `.faultline-write-check-${process.pid}`);
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UsageError(`watch: --out ${dir} is not a writable directory (${code}): give a directory this user can write, e.g. --out /var/lib/faultline/incidents`);
  }
}

/** A program path, or a name looked up on PATH as execvp would; it must be an executable file. */
export function resolveProgram(program: string, env: NodeJS.ProcessEnv, cwd: string): string {
  const candidates = program.includes('/') ? [isAbsolute(program) ? program : resolve(cwd, program)] : (env.PATH ?? '').split(delimiter).filter(Boolean).map((d) => join(d, program));
  for (const c of candidates) {
    try {
      if (statSync(c).isFile()) {
        accessSync(c, constants.X_OK);
        return c;
      }
    } catch {
      /* next candidate */
    }
  }
  const hint = /\s/.test(program) ? ' (it is run as PROGRAM SNAPSHOT.json without a shell: name one program, put arguments in a script)' : '';
  throw new UsageError(`watch: --on-stuck "${shorten(program)}" is not an executable program${program.includes('/') ? '' : ' on PATH'}${hint}: give the path of an executable file`);
}
