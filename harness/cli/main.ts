import { EXIT, exitCodeFor, isFaultlineError } from '../errors';
import { packageVersion } from '../util/package-root';
import { setTimeoutReal } from '../util/time';
import { COMMANDS, commandNamed, commandsHelp } from './commands';
import type { CliIO } from './io';

export const HELP = `faultline — fault injection for network failures, with a diagnoser that names the culprit

Usage: faultline <command> [options]

Commands:
${commandsHelp()}

Options: -h, --help (also after a command), --version

Exit codes (every command):
  0    done: every outcome as expected, no culprit, everything ready
  1    a finding: an outcome differed (run), a culprit was named (diagnose), a check failed (doctor)
  2    bad input (a flag, a scenario, an environment variable), before any engine work
  3    environment: no Docker engine, images cannot be built, no permission, a container missing
  4    inconclusive (diagnose): what decides could not be read; the text says what, and how to see it
  130  interrupted (Ctrl+C, SIGTERM)
Docs: README.md`;


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
  const command = commandNamed(name);
  if (!command) {
    io.stderr.write(`faultline: unknown command "${name}": valid commands are ${COMMANDS.map((c) => c.name).join(', ')}\n`);
    return 2;
  }
  try {
    return await command.run(rest, io);
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
