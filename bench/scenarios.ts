/**
 * Benchmark (not a test): warm topology start, the whole incident library in both variants, and
 * the largest per-scenario overhead (a run's time beyond its own fault durations).
 *
 *   npm run bench:scenarios
 *
 *   npm run bench:scenarios -- --parallel 3 --full-windows
 *
 * Above the last line: each run, then where the library's seconds go, per stage (start, steady,
 * inject, observe, heal, recover, teardown: the sum over runs, and the mean per run).
 * Last line, exactly: `scenarios: warm start <S> s, fpm stack start <F> s, library <L> s, overhead max <O> s, library <S> s`
 * (the warm start is the demo topology's; the FPM stack, with three more services, is its own
 * figure; the first `library` is the wall time of the whole library, the last the same wall time
 * when every outcome was as expected, else `library FAILED (<m>/<n> matched)`).
 * Needs a Docker engine; images are built first (not counted).
 */
import { connectDocker } from '../harness/engine/docker';
import { ImageStore } from '../harness/engine/images';
import { parseArgs } from 'node:util';
import { DEFAULT_PARALLEL, MAX_PARALLEL, overheadMs, runLibrary } from '../harness/scenario/library';
import { RUN_STAGES, type RunStage } from '../harness/scenario/phases';
import { VARIANTS, type ScenarioResult } from '../harness/scenario/types';
import { Topology } from '../harness/topology/topology';
import { monotonicMs } from '../harness/util/time';
import { SCENARIOS } from '../scenarios';
import { fpmStack } from '../scenarios/fpm';

const WARM_STARTS = 3;
const s = (ms: number) => (ms / 1000).toFixed(1);

/** Seconds per stage of one run: start and teardown from `stages`, the phases from `phases`. */
export function stagesOf(r: ScenarioResult): Record<RunStage, number> {
  const out = Object.fromEntries(RUN_STAGES.map((st) => [st, 0])) as Record<RunStage, number>;
  out.start = r.stages?.startMs ?? 0;
  out.teardown = r.stages?.teardownMs ?? 0;
  // Phase times count from the history's origin (the topology just started); the body ended
  // where the teardown began, and the last phase ends there, not at the last drained request.
  const bodyEnd = r.durationMs - out.start - out.teardown;
  for (const p of r.phases) if (p.name in out) out[p.name as RunStage] += Math.max(0, Math.min(p.endMs, bodyEnd) - p.startMs);
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { parallel: { type: 'string' }, 'full-windows': { type: 'boolean' } } });
  const parallel = values.parallel === undefined ? DEFAULT_PARALLEL : Number(values.parallel);
  if (!Number.isInteger(parallel) || parallel < 1 || parallel > MAX_PARALLEL) throw new Error(`--parallel must be an integer 1..${MAX_PARALLEL}`);
  const { docker } = await connectDocker();
  const images = new ImageStore(docker);
  await images.ensureAll();

  // Warm start: images present, nothing else running; the median of a few starts.
  const warmStart = async (what: string, make: () => Topology): Promise<number> => {
    const starts: number[] = [];
    for (let i = 0; i < WARM_STARTS; i++) {
      const t0 = monotonicMs();
      const topo = await make().start({ docker, images });
      starts.push(monotonicMs() - t0);
      await topo.stop();
    }
    starts.sort((a, b) => a - b);
    const median = starts[Math.floor(starts.length / 2)];
    console.log(`warm ${what} start: ${starts.map(s).join(' s, ')} s (median ${s(median)} s)`);
    return median;
  };
  const warm = await warmStart('topology', () => new Topology());
  const fpm = await warmStart('fpm stack (nginx + PHP-FPM, mariadb, redis, api)', () => fpmStack(new Topology()));

  const t0 = monotonicMs();
  const results = await runLibrary(SCENARIOS, VARIANTS, {
    docker,
    images,
    env: process.env,
    signal: new AbortController().signal,
    parallel,
    fullWindows: values['full-windows'] ?? false,
    onResult: (r) =>
      console.log(
        `  ${r.scenario.padEnd(20)} ${r.variant.padEnd(8)} ${r.verdict.padEnd(16)} ${r.matched ? 'matched' : 'NOT matched'}  ${s(r.durationMs)} s, overhead ${s(overheadMs(r))} s`,
      ),
  });
  const library = monotonicMs() - t0;
  const overhead = Math.max(...results.map(overheadMs));
  const matched = results.filter((r) => r.matched).length;
  console.log(`${matched}/${results.length} matched; library wall time ${s(library)} s with ${parallel} runs at once${values['full-windows'] ? ', full windows' : ''}`);
  // The heal phase of the table is the heal itself; teardown is everything after the body.
  const totals = results.map(stagesOf).reduce((sum, st) => {
    for (const k of RUN_STAGES) sum[k] += st[k];
    return sum;
  }, Object.fromEntries(RUN_STAGES.map((k) => [k, 0])) as Record<RunStage, number>);
  console.log(`per stage, summed over ${results.length} runs (mean per run):`);
  for (const k of RUN_STAGES) console.log(`  ${k.padEnd(9)} ${s(totals[k]).padStart(7)} s  (${s(totals[k] / Math.max(1, results.length))} s)`);
  const ok = matched === results.length;
  console.log(
    `scenarios: warm start ${s(warm)} s, fpm stack start ${s(fpm)} s, library ${s(library)} s, overhead max ${s(overhead)} s, ${ok ? `library ${s(library)} s` : `library FAILED (${matched}/${results.length} matched)`}`,
  );
}

main().catch((e) => {
  console.error(`bench:scenarios failed: ${(e as Error).message}`);
  process.exit(1);
});
