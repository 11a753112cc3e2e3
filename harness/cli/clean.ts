import { connectDocker } from '../engine/docker';
import { cleanByLabel } from '../engine/cleanup';
import { noPositionals, parseFlags } from './args';
import type { CliIO } from './io';

export const CLEAN_HELP = `Usage: faultline clean [--all] [--json]

Removes the containers, networks and iptables rules that faultline runs left behind. Without
--all, only what runs whose process is gone left (safe while other runs are alive); every run
also does this when it starts. --all removes every resource labelled dev.faultline.run.

If a run's iptables rules cannot be removed from a container that outlives it, each failure is
printed on stderr, the sidecar that reaches the container's network namespace is kept for the
next clean to retry, and the exit code is 1.`;

export async function cleanCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags('clean', args, {
    all: { type: 'boolean' },
    json: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${CLEAN_HELP}\n`);
    return 0;
  }
  noPositionals('clean', positionals);
  const { docker } = await connectDocker(io.env);
  const report = await cleanByLabel(docker, { all: values.all });
  if (values.json) io.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    io.stdout.write(
      `removed ${report.containers.length} containers, ${report.networks.length} networks` +
        (report.iptablesTargets.length ? `, iptables rules in ${report.iptablesTargets.length} containers` : '') +
        '\n',
    );
    for (const c of report.containers) io.stdout.write(`  container ${c}\n`);
    for (const n of report.networks) io.stdout.write(`  network ${n}\n`);
  }
  for (const f of report.iptablesFailures) {
    io.stderr.write(
      `faultline clean: iptables rules left in container ${f.target}: ${f.error} (sidecar ${f.sidecar} kept; the next clean or run retries)\n`,
    );
  }
  return report.iptablesFailures.length > 0 ? 1 : 0;
}
