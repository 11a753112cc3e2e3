import { writeFileSync } from 'node:fs';
import { FaultlineError, EXIT, UsageError } from '../errors';
import { connectDocker } from '../engine/docker';
import { ImageStore } from '../engine/images';
import { ensureWritableDir, writeReport } from '../report/html';
import { toJUnit } from '../report/junit';
import { renderSummary } from '../report/terminal';
import { DEFAULT_PARALLEL, MAX_PARALLEL, runLibrary } from '../scenario/library';
import { expectedRunMs, parseShard, shardRuns } from '../scenario/shard';
import type { Progress } from '../scenario/runner';
import { parseSet, resolveSettings, type KnobValue } from '../scenario/knobs';
import { validateScenarios } from '../scenario/schema';
import { VARIANTS, type Scenario, type Variant } from '../scenario/types';
import { checkEngineEnv, checkWritableFile, intFlag, parseFlags } from './args';
import type { CliIO } from './io';
import { imageProgressPrinter } from './progress';
import { resolveScenarios } from './scenario-file';

export const RUN_HELP = `Usage: faultline run [scenario...] [--variant incident|fixed|both] [--set knob=value ...] [--parallel N] [--full-windows] [--shard i/n] [--list] [--json] [--junit FILE] [--report DIR]

Runs scenarios on a real topology (Docker): all bundled scenarios when none is named. A scenario is
a bundled name (see \`faultline list\`) or a path to a TypeScript file exporting a scenario.

Options:
  --variant V    incident, fixed or both (default both)
  --set K=V      set a scenario knob for this run (repeatable; see \`faultline sweep <scenario> --knobs\`)
  --parallel N   run up to N scenario runs at once, each on its own topology (default ${DEFAULT_PARALLEL}, at most ${MAX_PARALLEL})
  --full-windows every observe window runs to its maximum; by default a window ends once its
                 verdict is settled (hung: the failed share reached with the pool full;
                 responsive: the window's minimum passed with no failure)
  --json         print exactly one JSON document on stdout: {"results":[...]}
  --junit FILE   also write a JUnit XML report (one test case per scenario x variant)
  --report DIR   also write an HTML report (DIR/index.html, a timeline per run; see faultline report --help)
  --shard i/n    run only shard i of n: the runs (scenario x variant) split by expected duration,
                 the same split in every job, so shards 1/n..n/n together run each run once
  --list         print the runs (of the shard) and their expected durations, run nothing
  -h, --help     this help

Everything is checked before the engine is contacted: flags, DOCKER_HOST, scenario files (they
must load), every scenario against the schema (schema/scenario.schema.json), unique names, the
selected variants, knob values, and that the --junit file and the --report directory can be written.

Progress goes to stderr. Exit 0 when every outcome matches what its scenario expects, 1 when one
does not, 2 on bad input, 3 when the environment fails (no engine, images cannot be built),
130 when interrupted.`;

/** Everything a run needs, resolved and checked once; nothing after this reads argv or env. */
export interface RunConfig {
  scenarios: Scenario[];
  variants: Variant[];
  parallel: number;
  fullWindows: boolean;
  json: boolean;
  junit?: string;
  report?: string;
  /** The runs (scenario x variant) of this job: every run, or those of `--shard i/n`. */
  runs: Array<{ scenario: string; variant: Variant; expectedMs: number }>;
  /** `--list`: print the runs, run nothing. */
  list: boolean;
  /** Knob values given with --set, checked against every scenario of the run. */
  settings: Record<string, KnobValue>;
  /** The file each scenario loaded from a file came from, by scenario name (for replay lines). */
  sources: Record<string, string>;
}

export function resolveVariants(value: string | undefined): Variant[] {
  if (value === undefined || value === 'both') return [...VARIANTS];
  if ((VARIANTS as readonly string[]).includes(value)) return [value as Variant];
  throw new UsageError(`faultline run: --variant must be incident, fixed or both, got "${value.slice(0, 40)}"`);
}

/**
 * Flags, environment and scenarios, checked in one place before any engine work: the first
 * problem is one UsageError. Returns undefined for --help.
 */
export function resolveRunConfig(args: string[], env: NodeJS.ProcessEnv): RunConfig | undefined {
  const { values, positionals } = parseFlags('run', args, {
    variant: { type: 'string' },
    json: { type: 'boolean' },
    junit: { type: 'string' },
    parallel: { type: 'string' },
    report: { type: 'string' },
    set: { type: 'string', multiple: true },
    shard: { type: 'string' },
    list: { type: 'boolean' },
    'full-windows': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) return undefined;
  const variants = resolveVariants(values.variant);
  const parallel = intFlag('run', '--parallel', values.parallel, DEFAULT_PARALLEL, 1, MAX_PARALLEL, ' (each run is a topology of its own; more bends the timings verdicts rest on)');
  checkEngineEnv(env);
  const entries = resolveScenarios(positionals);
  const scenarios = validateScenarios(
    entries.map((e) => e.scenario),
    variants,
    entries.map((e) => e.source),
  );
  const settings = parseSetFlags(scenarios, values.set ?? []);
  if (values.junit !== undefined) checkWritableFile('run', '--junit', values.junit);
  if (values.report !== undefined) ensureWritableDir(values.report, '--report');
  const runs = selectRuns(scenarios, variants, values.shard);
  const sources = Object.fromEntries(scenarios.flatMap((s, i) => (entries[i].source ? [[s.name, entries[i].source!]] : [])));
  return { scenarios, variants, parallel, fullWindows: values['full-windows'] ?? false, json: values.json ?? false, junit: values.junit, report: values.report, settings, runs, list: values.list ?? false, sources };
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
  const config = resolveRunConfig(args, io.env);
  if (!config) {
    io.stdout.write(`${RUN_HELP}\n`);
    return EXIT.ok;
  }
  if (config.list) {
    const { runs } = config;
    io.stdout.write(config.json ? `${JSON.stringify({ runs })}\n` : runs.map((r) => `${r.scenario} ${r.variant} ~${(r.expectedMs / 1000).toFixed(1)} s\n`).join(''));
    return EXIT.ok;
  }
  const { docker } = await connectDocker(io.env);
  const images = new ImageStore(docker, { onProgress: imageProgressPrinter(io), env: io.env });
  const done = await runLibrary(config.scenarios, config.variants, {
    docker,
    images,
    env: io.env,
    signal: io.signal,
    parallel: config.parallel,
    fullWindows: config.fullWindows,
    settings: config.settings,
    only: (scenario, variant) => config.runs.some((r) => r.scenario === scenario.name && r.variant === variant),
    onProgress: progressPrinter(io),
    onStart: (scenario, variant) => io.stderr.write(`[${scenario.name} ${variant}] starting (expect ${scenario.variants[variant]?.expected})\n`),
    onResult: (r) =>
      io.stderr.write(
        `[${r.scenario} ${r.variant}] ${r.verdict}${r.matched ? ' as expected' : ` — NOT as expected: ${r.mismatch?.join('; ')}`} (${(r.durationMs / 1000).toFixed(1)} s)\n`,
      ),
  });
  // Results first: a report that fails to write must not take the results with it.
  if (config.json) io.stdout.write(`${JSON.stringify({ results: done })}\n`);
  else io.stdout.write(`${renderSummary(done, config.sources)}\n`);
  if (config.junit) {
    try {
      writeFileSync(config.junit, toJUnit(done));
    } catch (e) {
      throw new FaultlineError('FAULTLINE_ENVIRONMENT', `--junit ${config.junit} could not be written after the run (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the results above are complete`, { cause: e });
    }
  }
  if (config.report !== undefined) {
    const report = await writeReport(config.report, done);
    io.stderr.write(`report: ${report.index}\n`);
  }
  if (io.signal.aborted) return EXIT.interrupted;
  return done.every((r) => r.matched) ? EXIT.ok : EXIT.finding;
}

/** `--set k=v` flags, checked against every scenario of the run before anything starts. */
export function parseSetFlags(scenarios: readonly Scenario[], flags: readonly string[]): Record<string, KnobValue> {
  const settings: Record<string, KnobValue> = {};
  for (const scenario of scenarios) {
    for (const flag of flags) {
      const [name, value] = parseSet(scenario.name, scenario.knobs ?? [], flag);
      settings[name] = value;
    }
    resolveSettings(scenario.name, scenario.knobs ?? [], settings);
  }
  return settings;
}
