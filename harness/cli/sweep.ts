import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, UsageError } from '../errors';
import { connectDocker } from '../engine/docker';
import { ensureWritableDir, writeReport } from '../report/html';
import { validateScenarios } from '../scenario/schema';
import type { ScenarioResult } from '../scenario/types';
import { ImageStore } from '../engine/images';
import { DEFAULT_PARALLEL, MAX_PARALLEL } from '../scenario/library';
import { formatKnobList } from '../scenario/knobs';
import { VARIANTS, type Variant } from '../scenario/types';
import { DEFAULT_MAX_RUNS, describePoint, planSweep } from '../sweep/plan';
import { runSweep, type SweepResult } from '../sweep/run';
import { renderBoundaries, renderSweep } from '../sweep/table';
import { checkEngineEnv, intFlag, parseFlags } from './args';
import type { CliIO } from './io';
import { imageProgressPrinter } from './progress';
import { resolveScenarios } from './scenario-file';

export const SWEEP_HELP = `Usage: faultline sweep <scenario> --knobs
       faultline sweep <scenario> --vary knob=v1,v2,... [--vary ...] [--set knob=v ...]
                       [--variant incident|fixed] [--parallel N] [--full-windows] [--repeat K] [--json] [--report DIR]
                       [--max-runs N] [--yes]

Runs the scenario once per combination of the --vary values (the cartesian product), each on a
fresh topology, and prints one row per point (verdict, health p50/p99, error share, peak busy
workers, time to saturation), where the verdict changes along each knob, what a queueing model
predicts from the same settings, and a recommendation.

Options:
  --knobs        list the scenario's knobs (name, type, unit, default, range, how it reaches the app)
  --vary K=V,..  sweep knob K over these values (repeatable: the product of all)
  --set K=V      hold knob K at V for every point (repeatable)
  --variant V    incident or fixed: which code's defaults the knobs start from (default incident)
  --parallel N   points run at once, each on its own topology (default ${DEFAULT_PARALLEL}, at most ${MAX_PARALLEL})
  --full-windows every observe window runs to its maximum (default: ends once its verdict is settled)
  --repeat K     run each point K times; the verdict is the majority (default 1)
  --json         print exactly one JSON document on stdout: {knobs, points: [...], boundaries}
  --report DIR   write the HTML report (a heatmap of verdicts over the knobs, a page per run)
                 and DIR/sweep.json (the same document as --json)
  --max-runs N   refuse sweeps of more than N runs (points x repeat) without --yes
                 (default ${DEFAULT_MAX_RUNS}, or FAULTLINE_SWEEP_MAX_RUNS)
  --yes          run a sweep larger than --max-runs
  -h, --help     this help

Progress (points done, ETA) goes to stderr; with --json the boundary lines go there too.
Exit 0 when every point produced a verdict, 1 when a run failed (verdict error), 2 on bad input,
130 when interrupted.`;

export async function sweepCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags('sweep', args, {
    knobs: { type: 'boolean' },
    vary: { type: 'string', multiple: true },
    set: { type: 'string', multiple: true },
    variant: { type: 'string' },
    parallel: { type: 'string' },
    repeat: { type: 'string' },
    json: { type: 'boolean' },
    report: { type: 'string' },
    'max-runs': { type: 'string' },
    yes: { type: 'boolean' },
    'full-windows': { type: 'boolean' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${SWEEP_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError(`faultline sweep: name one scenario (got ${positionals.length}); see \`faultline list\``);
  const variant = (values.variant ?? 'incident') as Variant;
  if (!VARIANTS.includes(variant)) throw new UsageError(`faultline sweep: --variant must be incident or fixed, got "${String(values.variant).slice(0, 40)}"`);
  const entries = resolveScenarios(positionals);
  const [scenario] = validateScenarios(entries.map((e) => e.scenario), [variant], entries.map((e) => e.source));
  if (values.knobs) {
    const knobs = scenario.knobs ?? [];
    io.stdout.write(knobs.length ? `${formatKnobList(knobs)}\n` : `${scenario.name} declares no knobs\n`);
    return 0;
  }
  const parallel = intFlag('sweep', '--parallel', values.parallel, DEFAULT_PARALLEL, 1, MAX_PARALLEL);
  const repeat = intFlag('sweep', '--repeat', values.repeat, 1);
  const maxRuns = intFlag('sweep', '--max-runs', values['max-runs'] ?? io.env.FAULTLINE_SWEEP_MAX_RUNS, DEFAULT_MAX_RUNS);
  const plan = planSweep(scenario, { variant, vary: values.vary ?? [], set: values.set ?? [], repeat, maxRuns, yes: values.yes });
  if (values.report !== undefined) ensureWritableDir(values.report, '--report');
  checkEngineEnv(io.env);
  const { docker } = await connectDocker(io.env);
  const images = new ImageStore(docker, { onProgress: imageProgressPrinter(io), env: io.env });
  const total = plan.points.length * plan.repeat;
  io.stderr.write(`[sweep ${scenario.name} ${variant}] ${plan.points.length} points${plan.repeat > 1 ? ` x ${plan.repeat}` : ''}, ${Math.min(parallel, total)} at once\n`);
  const t0 = Date.now();
  const runs: ScenarioResult[] = [];
  const result = await runSweep(plan, {
    docker,
    images,
    env: io.env,
    signal: io.signal,
    parallel,
    fullWindows: values['full-windows'] ?? false,
    onRun: (done, all, r, settings) => {
      runs.push(r);
      const elapsed = (Date.now() - t0) / 1000;
      const eta = done < all ? `, ETA ${Math.round((elapsed / done) * (all - done))} s` : '';
      io.stderr.write(`[sweep ${done}/${all}] ${describePoint(settings)}: ${r.verdict}${r.error ? ` (${r.error})` : ''} in ${(r.durationMs / 1000).toFixed(1)} s${eta}\n`);
    },
  });
  if (values.json) {
    io.stderr.write(`${renderBoundaries(result).join('\n')}\n`);
    io.stdout.write(`${JSON.stringify(result)}\n`);
  } else {
    io.stdout.write(`${renderSweep(result)}\n`);
  }
  if (values.report !== undefined) {
    const report = await writeSweepReport(values.report, result, runs);
    io.stderr.write(`report: ${report}\n`);
  }
  if (io.signal.aborted) return EXIT.interrupted;
  return result.points.every((p) => p.verdict !== 'error') ? EXIT.ok : EXIT.finding;
}

/**
 * The sweep's HTML report: the index draws a heatmap of verdicts over the swept knobs above the
 * usual row per run, each run has its timeline page, and DIR/sweep.json is the --json document.
 */
export async function writeSweepReport(dir: string, result: SweepResult, runs: ScenarioResult[]): Promise<string> {
  const written = await writeReport(dir, runs, {
    sweep: { knobs: result.knobs.map((k) => k.name), points: result.points.map((p) => ({ settings: p.settings, verdict: p.verdict })) },
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'sweep.json'), `${JSON.stringify(result, null, 2)}\n`);
  return written.index;
}
