/**
 * Entry of the single-file `faultline-diagnose` (dist/faultline-diagnose.cjs, built by
 * scripts/build.js with esbuild): `diagnose` and `watch` with nothing but Node >= 18, for hosts
 * where installing the whole package (Docker client libraries, testcontainers, tsx) is not wanted.
 *
 *   faultline-diagnose [diagnose] (--match REGEX | --pid N,... | --container NAME) ...
 *   faultline-diagnose watch (--match REGEX | ...) [--interval S] [--listen HOST:PORT] ...
 *
 * Only these two commands are imported, so the bundle carries no scenario runner. The signal and
 * exit handling is main.ts's, in small: the first SIGTERM / Ctrl+C stops and cleans up (the
 * watcher removes its sidecar), a second one quits at once, exit 130.
 */
import { EXIT, exitCodeFor, isFaultlineError } from '../errors';
import { setTimeoutReal } from '../util/time';
import { faultlineVersion } from '../watch/version';
import { DIAGNOSE_USAGE, diagnoseCommand } from './diagnose';
import type { CliIO, Command } from './io';
import { WATCH_USAGE, watchCommand } from './watch';

const COMMANDS: Record<string, Command> = { diagnose: diagnoseCommand, watch: watchCommand };
const CLEANUP_DEADLINE_MS = 30_000;

const HELP = `faultline-diagnose ${'$VERSION'}: faultline's diagnoser in one file (Node >= 18, nothing else)

  faultline-diagnose [diagnose] ...   name the culprit of a hung pool (see below)
  faultline-diagnose watch ...        watch a pool: metrics, incident snapshots, --on-stuck

${DIAGNOSE_USAGE}
${WATCH_USAGE}`;

async function run(args: string[], io: CliIO): Promise<number> {
  const [first, ...rest] = args;
  if (first === '--version') {
    io.stdout.write(`${faultlineVersion()}\n`);
    return 0;
  }
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    io.stdout.write(HELP.replace('$VERSION', faultlineVersion()));
    return first === undefined ? EXIT.usage : 0;
  }
  const name = first in COMMANDS ? first : 'diagnose';
  const command = COMMANDS[name] as Command;
  try {
    return await command(first in COMMANDS ? rest : args, io);
  } catch (e) {
    if (io.signal.aborted) return EXIT.interrupted;
    if (isFaultlineError(e)) {
      const code = e.code === 'FAULTLINE_USAGE' ? '' : ` [${e.code}]`;
      io.stderr.write(`faultline-diagnose ${name}: ${e.message.replace(new RegExp(`^${name}: `), '').replace(/\s*\n\s*/g, ' ')}${code}\n`);
    } else {
      io.stderr.write(`faultline-diagnose ${name}: unexpected error: ${(e as Error).stack ?? e}\n`);
    }
    return exitCodeFor(e);
  }
}

const controller = new AbortController();
let interrupts = 0;
const onSignal = (sig: NodeJS.Signals) => {
  if (++interrupts > 1) process.exit(EXIT.interrupted);
  process.stderr.write(`\nfaultline-diagnose: ${sig}: stopping and cleaning up (again to quit at once)\n`);
  controller.abort(new Error(`interrupted by ${sig}`));
  setTimeoutReal(() => process.exit(EXIT.interrupted), CLEANUP_DEADLINE_MS).unref();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
run(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal }).then((code) => {
  const final = controller.signal.aborted ? EXIT.interrupted : code;
  process.exitCode = final;
  setTimeoutReal(() => process.exit(final), 2000).unref();
  process.stdout.write('', () => process.exit(final));
});
