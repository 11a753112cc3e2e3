import { existsSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from '../errors';
import { connectDocker } from '../engine/docker';
import { ImageStore } from '../engine/images';
import { toJUnit } from '../report/junit';
import { renderSummary } from '../report/terminal';
import { runLibrary } from '../scenario/library';
import { expectedRunMs, parseShard, shardRuns } from '../scenario/shard';
import type { Progress } from '../scenario/runner';
import { VARIANTS, type Scenario, type Variant } from '../scenario/types';
import { SCENARIOS } from '../../scenarios';
import { intFlag, parseFlags } from './args';
import type { CliIO } from './io';
import { imageProgressPrinter } from './progress';

export const RUN_HELP = `Usage: faultline run [scenario...] [--variant incident|fixed|both] [--parallel N] [--shard i/n] [--list] [--json] [--junit FILE]

Runs scenarios on a real topology (Docker): all bundled scenarios when none is named. A scenario is
a bundled name (see \`faultline list\`) or a path to a TypeScript file exporting a scenario.

Options:
  --variant V    incident, fixed or both (default both)
  --parallel N   run up to N scenario runs at once, each on its own topology (default 2)
  --json         print exactly one JSON document on stdout: {"results":[...]}
  --junit FILE   also write a JUnit XML report (one test case per scenario x variant)
  --shard i/n    run only shard i of n: the runs (scenario x variant) split by expected duration,
                 the same split in every job, so shards 1/n..n/n together run each run once
  --list         print the runs (of the shard) and their expected durations, run nothing
  -h, --help     this help

Progress goes to stderr. Exit 0 when every outcome matches what its scenario expects, 1 when one
does not, 2 on bad input, 130 when interrupted.`;

/**
 * Two runs at once: topologies are mostly idle (a hung pool sleeps), so two fit on 2 cores
 * without bending the timings the verdicts rest on.
 */
const DEFAULT_PARALLEL = 2;

function loadScenarioFile(arg: string): Scenario[] {
  const path = resolve(arg);
  if (!existsSync(path)) throw new UsageError(`faultline run: scenario file ${arg} does not exist`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(path) as Record<string, unknown>;
  const found = Object.values(mod).filter(
    (v): v is Scenario => typeof v === 'object' && v !== null && typeof (v as Scenario).run === 'function' && typeof (v as Scenario).name === 'string',
  );
  if (found.length === 0) throw new UsageError(`faultline run: ${arg} exports no scenario (an object with name, variants and run)`);
  return [...new Set(found)];
}

export function resolveScenarios(names: string[]): Scenario[] {
  if (names.length === 0) return [...SCENARIOS];
  const out: Scenario[] = [];
  for (const name of names) {
    const bundled = SCENARIOS.find((s) => s.name === name);
    if (bundled) out.push(bundled);
    else if (/\.(ts|js)$/.test(name)) out.push(...loadScenarioFile(name));
    else {
      throw new UsageError(
        `faultline run: unknown scenario "${name}": valid scenarios are ${SCENARIOS.map((s) => s.name).join(', ')} (or a path to a .ts file)`,
      );
    }
  }
  return out;
}

export function resolveVariants(value: string | undefined): Variant[] {
  if (value === undefined || value === 'both') return [...VARIANTS];
  if ((VARIANTS as readonly string[]).includes(value)) return [value as Variant];
  throw new UsageError(`faultline run: --variant must be incident, fixed or both, got "${value}"`);
}

/** The runs (scenario x variant) of `--shard i/n`, or every run without it. */
function selectRuns(scenarios: Scenario[], variants: Variant[], shard: string | undefined) {
  const all = scenarios.flatMap((s) => variants.map((variant) => ({ scenario: s.name, variant })));
  const mine = shard === undefined ? all : shardRuns(all, parseShard(shard, 'faultline run: '));
  return mine.map((r) => ({ ...r, expectedMs: expectedRunMs(r) }));
}

function progressPrinter(io: CliIO): (p: Progress) => void {
  let last = '';
  return (p) => {
    const pool = p.busy === undefined ? '' : `, busy workers ${p.busy}/${p.size}`;
    const p99 = p.liveP99Ms === null ? '' : `, live p99 ${Math.round(p.liveP99Ms)} ms`;
    const line = `[${p.scenario} ${p.variant}] ${p.phase} ${(p.elapsedMs / 1000).toFixed(0)}s${p99}${pool}`;
    if (line !== last) io.stderr.write(`${line}\n`);
    last = line;
  };
}

export async function runCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags('run', args, {
    variant: { type: 'string' },
    json: { type: 'boolean' },
    junit: { type: 'string' },
    parallel: { type: 'string' },
    shard: { type: 'string' },
    list: { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${RUN_HELP}\n`);
    return 0;
  }
  const scenarios = resolveScenarios(positionals);
  const variants = resolveVariants(values.variant);
  if (values.junit === '') throw new UsageError('faultline run: --junit needs a file path');
  const parallel = intFlag('run', '--parallel', values.parallel, DEFAULT_PARALLEL);
  const runs = selectRuns(scenarios, variants, values.shard);
  if (values.list) {
    io.stdout.write(values.json ? `${JSON.stringify({ runs })}\n` : runs.map((r) => `${r.scenario} ${r.variant} ~${(r.expectedMs / 1000).toFixed(1)} s\n`).join(''));
    return 0;
  }

  const { docker } = await connectDocker(io.env);
  const images = new ImageStore(docker, { onProgress: imageProgressPrinter(io), env: io.env });
  const done = await runLibrary(scenarios, variants, {
    docker,
    images,
    env: io.env,
    signal: io.signal,
    parallel,
    only: (scenario, variant) => runs.some((r) => r.scenario === scenario.name && r.variant === variant),
    onProgress: progressPrinter(io),
    onStart: (scenario, variant) => io.stderr.write(`[${scenario.name} ${variant}] starting (expect ${scenario.variants[variant].expected})\n`),
    onResult: (r) =>
      io.stderr.write(
        `[${r.scenario} ${r.variant}] ${r.verdict}${r.matched ? ' as expected' : ` — NOT as expected: ${r.mismatch?.join('; ')}`} (${(r.durationMs / 1000).toFixed(1)} s)\n`,
      ),
  });
  if (values.junit) writeFileSync(values.junit, toJUnit(done));
  if (values.json) io.stdout.write(`${JSON.stringify({ results: done })}\n`);
  else io.stdout.write(`${renderSummary(done)}\n`);
  if (io.signal.aborted) return 130;
  return done.every((r) => r.matched) ? 0 : 1;
}
