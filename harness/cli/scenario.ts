/**
 * `faultline scenario from SNAPSHOT.json --out FILE.ts`: the incident snapshot `faultline watch`
 * wrote, turned into a scenario that reproduces it on faultline's topology (harness/emit).
 */
import { UsageError } from '../errors';
import { checkScenarioPath, emitScenario, writeScenarioFile } from '../emit/scenario';
import { readSnapshot } from '../watch/snapshot';
import type { Command } from './io';

export const SCENARIO_USAGE = `usage: faultline scenario from SNAPSHOT.json --out FILE.ts

Writes a scenario reproducing an incident snapshot (faultline watch --out DIR/incident-*.json)
on faultline's topology: the pool size, the lock, the culprit's kind as the fault that produces
it, the upstream as a service named like the observed one (a bundled image standing in for it),
incident and fixed variants. Run it with: faultline run FILE.ts

Exit code: 0 written, 2 bad input (not a snapshot, not stuck, a kind no network fault produces).
`;

export const scenarioCommand: Command = async (args, io) => {
  if (args.length === 0 || args.includes('-h') || args.includes('--help')) {
    io.stdout.write(SCENARIO_USAGE);
    return args.length === 0 ? 2 : 0;
  }
  const [sub, ...rest] = args;
  if (sub !== 'from') throw new UsageError(`scenario: unknown subcommand "${String(sub).slice(0, 40)}": the only one is \`scenario from SNAPSHOT.json --out FILE.ts\``);
  let snapshotPath: string | undefined;
  let out: string | undefined;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i] as string;
    if (arg === '--out' || arg.startsWith('--out=')) {
      if (out !== undefined) throw new UsageError('scenario from: --out given twice: give it once');
      out = arg.startsWith('--out=') ? arg.slice(6) : rest[++i];
      if (!out) throw new UsageError('scenario from: --out needs a file, e.g. --out incident.ts');
    } else if (arg.startsWith('--')) {
      throw new UsageError(`scenario from: unknown flag "${arg.slice(0, 40)}" (see faultline scenario --help)`);
    } else if (snapshotPath === undefined) {
      snapshotPath = arg;
    } else {
      throw new UsageError(`scenario from: one snapshot at a time (got "${snapshotPath}" and "${arg.slice(0, 60)}")`);
    }
  }
  if (!snapshotPath) throw new UsageError('scenario from: name the snapshot: faultline scenario from DIR/incident-TIME.json --out FILE.ts');
  if (!out) throw new UsageError('scenario from: say where to write it: --out FILE.ts');
  const path = checkScenarioPath(out, 'scenario from: --out');
  const snapshot = readSnapshot(snapshotPath, 'scenario from');
  const where = snapshot.target.container ? `container ${snapshot.target.container} on ${snapshot.host}` : `${snapshot.host} (${snapshot.target.match ? `--match ${snapshot.target.match}` : `--pid ${snapshot.target.pids?.join(',')}`})`;
  const emitted = emitScenario(snapshot.diagnosis, {
    observedOn: `faultline watch, ${where}, stuck since ${snapshot.stuckSince} (snapshot ${snapshot.time})`,
    generator: 'faultline scenario from',
  });
  writeScenarioFile(path, emitted);
  io.stdout.write(`wrote scenario ${emitted.name} (${emitted.kind} on ${emitted.service}, ${emitted.lock} lock, ${emitted.workers} workers) to ${out}\n`);
  return 0;
};
