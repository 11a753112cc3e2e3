/**
 * `faultline diagnose (--match REGEX | --pid N[,N...] | --container NAME) [--json] [--samples N] [--interval MS] [--stuck-after DURATION] [--service NAME=HOST:PORT]... [--services FILE] [--emit-scenario FILE.ts]`
 *
 * Exit codes: 0 healthy (no culprit), 1 stuck (a culprit was named), 2 usage, 3 environment,
 * 4 inconclusive (what decides could not be read).
 */
import { hostname } from 'node:os';
import { EXIT, UsageError } from '../errors';
import { parseDuration } from '../util/time';
import { walkFlags, wholeNumber } from '../util/argv';
import { checkTarget, shorten, takeTargetFlag } from '../util/targets';
import { startSidecar } from '../engine/sidecar';
import { diagnose, renderJson, renderText, ContainerProcReader, DEFAULT_INTERVAL_MS, DEFAULT_SAMPLES, DEFAULT_STUCK_AFTER_MS } from '../diagnose';
import type { ProcReader, ServiceRegistry } from '../diagnose';
import * as fs from 'node:fs';
import { mergeRegistries, parseServiceSpec, parseServicesJson, ServiceSpecError } from '../diagnose/services';
import type { Command } from './io';
import { checkScenarioPath, emitScenario, writeScenarioFile } from '../emit/scenario';

export const DIAGNOSE_USAGE = `usage: faultline diagnose (--match REGEX | --pid N[,N...] | --container NAME) [--json] [--samples N] [--interval MS]
       [--stuck-after DURATION] [--service NAME=HOST:PORT]... [--services FILE] [--emit-scenario FILE.ts]

Names the culprit of a hung worker pool: waiting workers -> lock -> holder -> what the holder is
blocked on -> which upstream.

  --match REGEX      processes whose full command line matches (never faultline itself)
  --pid N[,N...]     these processes (plus every process lock-connected to them)
  --container NAME   diagnose inside a container through a toolbox sidecar sharing its PID and
                     network namespaces with SYS_PTRACE; nothing is added to the container.
                     Combine with --match or --pid to narrow (PIDs as the container sees them).
  --json             print the diagnosis as JSON
  --samples N        samples to take (default ${DEFAULT_SAMPLES}; 1 cannot tell stuck from slow)
  --interval MS      time between samples (default ${DEFAULT_INTERVAL_MS})
  --stuck-after DURATION
                     workers waiting on an upstream without a lock between them (alone or piled
                     up) are stuck only once one has waited this long, e.g. 5s, 800ms (default
                     ${DEFAULT_STUCK_AFTER_MS / 1000}s: past an ordinary slow query)
  --service NAME=HOST:PORT
                     name the service at HOST:PORT (an IP address or localhost); repeatable.
                     Without a name, a well-known port is shown as a guess ("5432, probably postgres")
  --services FILE    JSON: { "NAME": "HOST:PORT" | ["HOST:PORT", ...] }
  --emit-scenario FILE.ts
                     when stuck, also write a scenario reproducing it on faultline's topology
                     (incident and fixed variants; run it with faultline run FILE.ts)

Exit code: 0 healthy, 1 stuck (a culprit was named), 2 bad input, 3 environment (no engine,
no such container, no permission), 4 inconclusive (what decides could not be read: the text
says what, and what would let it see: root, --container, CAP_SYS_PTRACE), 130 interrupted.
`;

export { MAX_MATCH_LENGTH } from '../util/targets';

// --- service names (diag-rules) ---------------------------------------------------------------
/** Flags that may be given more than once. */
const REPEATABLE = new Set(['--json', '--service']);
/** A services file larger than this is not a list of a host's services. */
const MAX_SERVICES_FILE_BYTES = 1 << 20;

/** One --service or --services value as a registry; a bad one is a UsageError naming the flag. */
function serviceFlag(flag: '--service' | '--services', raw: string): ServiceRegistry {
  try {
    if (flag === '--service') {
      const { name, address } = parseServiceSpec(raw);
      return { services: [{ name, addresses: [address] }] };
    }
    let text: string;
    try {
      if (fs.statSync(raw).size > MAX_SERVICES_FILE_BYTES) throw new ServiceSpecError(`is larger than ${MAX_SERVICES_FILE_BYTES} bytes`);
      text = fs.readFileSync(raw, 'utf8');
    } catch (e) {
      if (e instanceof ServiceSpecError) throw e;
      throw new ServiceSpecError(`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): give a readable JSON file`);
    }
    return parseServicesJson(text);
  } catch (e) {
    if (!(e instanceof ServiceSpecError)) throw e;
    throw new UsageError(`diagnose: ${flag} ${flag === '--services' ? `${shorten(raw)} ` : ''}${e.message}`);
  }
}
// --- end service names ---


export interface DiagnoseArgs {
  match?: RegExp;
  /** From --service (repeatable) and --services FILE: remote ip:port -> service name. */
  registry?: ServiceRegistry;
  pids?: number[];
  container?: string;
  json: boolean;
  samples: number;
  intervalMs: number;
  stuckAfterMs: number;
  help: boolean;
  emitScenario?: string;
}

/** An hour: a wait threshold beyond it would never name a culprit in a diagnosis anyone waits for. */
const MAX_STUCK_AFTER_MS = 3_600_000;

/** Parses argv into a complete config; every bad input names its flag and how to fix it. */
export function parseDiagnoseArgs(args: string[]): DiagnoseArgs {
  const out: DiagnoseArgs = { json: false, samples: DEFAULT_SAMPLES, intervalMs: DEFAULT_INTERVAL_MS, stuckAfterMs: DEFAULT_STUCK_AFTER_MS, help: false };
  walkFlags('diagnose', args, (flag, value, arg) => {
    if (takeTargetFlag('diagnose', flag, value, out)) return;
    switch (flag) {
      case '-h':
      case '--help':
        out.help = true;
        break;
      case '--json':
        out.json = true;
        break;
      case '--samples': {
        const raw = value();
        out.samples = wholeNumber(raw, 1, 100, () => `diagnose: --samples "${shorten(raw)}" must be a whole number from 1 to 100 (2 or more tell stuck from slow)`);
        break;
      }
      case '--interval': {
        const raw = value();
        if (!/^[0-9]{1,5}$/.test(raw) || Number(raw) > 60_000) {
          throw new UsageError(`diagnose: --interval "${shorten(raw)}" must be milliseconds from 0 to 60000, e.g. --interval 250`);
        }
        out.intervalMs = Number(raw);
        break;
      }
      case '--stuck-after': {
        const raw = value();
        let ms: number;
        try {
          ms = parseDuration(/^[0-9]+$/.test(raw) ? Number(raw) : raw, '--stuck-after');
        } catch {
          throw new UsageError(`diagnose: --stuck-after "${shorten(raw)}" must be a duration like "5s" or "800ms" (a bare number is milliseconds)`);
        }
        if (ms > MAX_STUCK_AFTER_MS) throw new UsageError(`diagnose: --stuck-after "${shorten(raw)}" must be at most 1h (3600s)`);
        out.stuckAfterMs = ms;
        break;
      }
      // --- service names (diag-rules): --service NAME=HOST:PORT (repeatable), --services FILE ---
      case '--service':
      case '--services':
        out.registry = mergeRegistries(out.registry, serviceFlag(flag, value()));
        break;
      // --- end service names ---
      case '--emit-scenario':
        out.emitScenario = value();
        break;
      default:
        throw new UsageError(`diagnose: unknown argument "${shorten(arg)}" (see faultline diagnose --help)`);
    }
  }, REPEATABLE);
  if (out.help) return out;
  checkTarget('diagnose', out);
  return out;
}

export const diagnoseCommand: Command = async (args, io) => {
  const opts = parseDiagnoseArgs(args);
  if (opts.help) {
    io.stdout.write(DIAGNOSE_USAGE);
    return 0;
  }
  // Checked before any engine work: a bad path is bad input, found before the diagnosis.
  const scenarioPath = opts.emitScenario ? checkScenarioPath(opts.emitScenario, 'diagnose: --emit-scenario') : undefined;
  let reader: ProcReader | undefined;
  let stopSidecar: (() => Promise<void>) | undefined;
  try {
    if (opts.container) {
      const sidecar = await startSidecar({ target: opts.container, sharePid: true, capabilities: ['SYS_PTRACE'] });
      stopSidecar = () => sidecar.stop();
      if (io.signal.aborted) return 130;
      reader = new ContainerProcReader(sidecar, { name: opts.container });
    }
    const diagnosis = await diagnose({
      reader,
      pids: opts.pids,
      match: opts.match,
      samples: opts.samples,
      intervalMs: opts.intervalMs,
      registry: opts.registry,
      stuckAfterMs: opts.stuckAfterMs,
      signal: io.signal,
    });
    if (diagnosis.processes.length === 0 && (opts.match || opts.pids)) {
      throw new UsageError(
        opts.match
          ? `diagnose: --match ${String(opts.match)} matches no process (faultline itself is never matched); check it against \`ps -eo args\``
          : `diagnose: --pid ${opts.pids?.join(',')}: no such process`,
      );
    }
    io.stdout.write(opts.json ? renderJson(diagnosis) : renderText(diagnosis));
    if (scenarioPath) {
      if (diagnosis.verdict === 'stuck') {
        const target = opts.container ? `--container ${opts.container}` : opts.match ? `--match ${String(opts.match)}` : `--pid ${opts.pids?.join(',')}`;
        try {
          const emitted = emitScenario(diagnosis, { observedOn: `faultline diagnose ${target} on ${hostname()} at ${new Date().toISOString()}`, generator: 'faultline diagnose --emit-scenario' });
          writeScenarioFile(scenarioPath, emitted);
          io.stderr.write(`diagnose: wrote scenario ${emitted.name} (${emitted.kind} on ${emitted.service}, ${emitted.lock} lock, ${emitted.workers} workers) to ${opts.emitScenario}\n`);
        } catch (e) {
          // The diagnosis stands (exit 1): only the scenario could not be written, and why.
          if (!(e instanceof UsageError)) throw e;
          io.stderr.write(`diagnose: no scenario written to ${opts.emitScenario}: ${e.message}\n`);
        }
      } else {
        io.stderr.write(`diagnose: no scenario written to ${opts.emitScenario}: the verdict is ${diagnosis.verdict}, not stuck\n`);
      }
    }
    return diagnosis.verdict === 'stuck' ? EXIT.finding : diagnosis.verdict === 'inconclusive' ? EXIT.inconclusive : EXIT.ok;
  } finally {
    await stopSidecar?.();
  }
};
