import { EXIT, exitCodeFor, isFaultlineError } from '../errors';
import { packageVersion } from '../util/package-root';
import { setTimeoutReal } from '../util/time';
import type { Command, CliIO } from './io';
import { cleanCommand } from './clean';
import { diagnoseCommand } from './diagnose';
import { doctorCommand } from './doctor';
import { imagesCommand } from './images';
import { listCommand } from './list';
import { reportCommand } from './report';
import { runCommand } from './run';
import { sweepCommand } from './sweep';
import { watchCommand } from './watch';
import { scenarioCommand } from './scenario';

export const HELP = `faultline — fault injection for network failures, with a diagnoser that names the culprit

Usage: faultline <command> [options]

Commands:
  run [scenario...]     run scenarios (all when none is named) on a real topology
                        --variant incident|fixed|both (default both)  --parallel N
                        --json  --junit FILE  --report DIR  --set knob=value
                        --shard i/n  --list (the runs of a shard, nothing run)
                        --full-windows (every observe window to its maximum)
  report RESULT.json --out DIR
                        render the HTML report of a saved "run --json" output
  sweep <scenario>      validate timeouts: run a scenario over knob values, find where the
                        verdict changes, compare with a queueing model
                        --knobs | --vary knob=v1,v2 [--vary ...] [--set knob=v] [--repeat K]
                        [--parallel N] [--json] [--report DIR] [--yes]
  list                  the bundled scenarios, their variants and what each shows
  diagnose              name the culprit of a hung worker pool from /proc
                        (--match REGEX | --pid N[,N...] | --container NAME) [--json]
                        [--samples N] [--interval MS] [--stuck-after DURATION]
                        [--service NAME=HOST:PORT]... [--services FILE] [--emit-scenario FILE.ts]
  watch                 watch a pool: Prometheus metrics, an incident snapshot and --on-stuck
                        when it hangs, a log line when it recovers
                        (--match REGEX | --pid N[,N...] | --container NAME) [--interval S]
                        [--listen HOST:PORT] [--out DIR] [--on-stuck PROGRAM] [--stuck-for N]
                        [--services FILE] [--once]
  scenario from SNAPSHOT.json --out FILE.ts
                        write a scenario reproducing an incident snapshot (incident + fixed)
  images [build]        list faultline's images (tag, source, size); build builds missing ones
  doctor                check what a run needs and say how to fix what is missing
  clean [--all]         remove containers/networks left by dead runs (--all: every faultline resource)

Options: -h, --help (also after a command), --version

Exit codes (every command):
  0    done: every outcome as expected, no culprit, everything ready
  1    a finding: an outcome differed (run), a culprit was named (diagnose), a check failed (doctor)
  2    bad input (a flag, a scenario, an environment variable), before any engine work
  3    environment: no Docker engine, images cannot be built, no permission, a container missing
  4    inconclusive (diagnose): what decides could not be read; the text says what, and how to see it
  130  interrupted (Ctrl+C, SIGTERM)
Docs: README.md`;


const COMMANDS: Record<string, Command> = {
  run: runCommand,
  list: listCommand,
  diagnose: diagnoseCommand,
  images: imagesCommand,
  doctor: doctorCommand,
  clean: cleanCommand,
  report: reportCommand,
  sweep: sweepCommand,
  watch: watchCommand,
  scenario: scenarioCommand,
};

/** Runs a command with the given IO; never exits the process (tests call this). */
export async function main(args: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = args;
  if (!name || name === '-h' || name === '--help' || name === 'help') {
    io.stdout.write(`${HELP}\n`);
    return name ? 0 : 2;
  }
  if (name === '--version') {
    io.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.stderr.write(`faultline: unknown command "${name}": valid commands are ${Object.keys(COMMANDS).join(', ')}\n`);
    return 2;
  }
  try {
    return await command(rest, io);
  } catch (e) {
    if (io.signal.aborted) return EXIT.interrupted;
    if (isFaultlineError(e)) {
      // One line, no stack: the message names what failed and how to fix it.
      const code = e.code === 'FAULTLINE_USAGE' ? '' : ` [${e.code}]`;
      const message = e.message.replace(/^faultline \w+: /, '').replace(new RegExp(`^${name}: `), '');
      io.stderr.write(`faultline ${name}: ${message.replace(/\s*\n\s*/g, ' ')}${code}\n`);
    } else {
      io.stderr.write(`faultline ${name}: unexpected error: ${(e as Error).stack ?? e}\n`);
    }
    return exitCodeFor(e);
  }
}

/** Hard deadline for cleanup after Ctrl+C / SIGTERM: the CLI cannot hang. */
const CLEANUP_DEADLINE_MS = 30_000;

/** Process entry point: signals, exit codes, and an exit that cannot hang. */
export function cli(args: string[]): void {
  const controller = new AbortController();
  let interrupts = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      process.stderr.write(`\nfaultline: ${sig}: stopping and cleaning up (press Ctrl+C again to quit at once; \`faultline clean\` removes leftovers)\n`);
      controller.abort(new Error(`interrupted by ${sig}`));
      setTimeoutReal(() => process.exit(130), CLEANUP_DEADLINE_MS).unref();
    } else {
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const io: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal };
  main(args, io).then(
    (code) => exit(controller.signal.aborted ? 130 : code),
    (e) => {
      process.stderr.write(`faultline: ${(e as Error).message}\n`);
      exit(exitCodeFor(e));
    },
  );
}

/** Flushes stdout, then exits; a stuck handle cannot keep the process alive past the deadline. */
function exit(code: number): void {
  process.exitCode = code;
  setTimeoutReal(() => process.exit(code), 2000).unref();
  process.stdout.write('', () => process.exit(code));
}
