/**
 * Benchmark (not a test): warm topology start, the whole incident library in both variants, and
 * the largest per-scenario overhead (a run's time beyond its own fault durations).
 *
 *   npm run bench:scenarios
 *
 * Last line, exactly: `scenarios: warm start <S> s, fpm stack start <F> s, library <L> s, overhead max <O> s`
 * (the warm start is the demo topology's; the FPM stack, with three more services, is its own figure).
 * Needs a Docker engine; images are built first (not counted).
 */
import { connectDocker } from '../harness/engine/docker';
import { ImageStore } from '../harness/engine/images';
import { overheadMs, runLibrary } from '../harness/scenario/library';
import { VARIANTS } from '../harness/scenario/types';
import { Topology } from '../harness/topology/topology';
import { monotonicMs } from '../harness/util/time';
import { SCENARIOS } from '../scenarios';
import { fpmStack } from '../scenarios/fpm';

const WARM_STARTS = 3;
const s = (ms: number) => (ms / 1000).toFixed(1);

async function main(): Promise<void> {
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
    parallel: 2,
    onResult: (r) =>
      console.log(
        `  ${r.scenario.padEnd(20)} ${r.variant.padEnd(8)} ${r.verdict.padEnd(16)} ${r.matched ? 'matched' : 'NOT matched'}  ${s(r.durationMs)} s, overhead ${s(overheadMs(r))} s`,
      ),
  });
  const library = monotonicMs() - t0;
  const overhead = Math.max(...results.map(overheadMs));
  const matched = results.filter((r) => r.matched).length;
  console.log(`${matched}/${results.length} matched; library wall time ${s(library)} s with 2 runs at once`);
  console.log(`scenarios: warm start ${s(warm)} s, fpm stack start ${s(fpm)} s, library ${s(library)} s, overhead max ${s(overhead)} s`);
}

main().catch((e) => {
  console.error(`bench:scenarios failed: ${(e as Error).message}`);
  process.exit(1);
});
