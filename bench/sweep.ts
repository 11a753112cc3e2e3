/**
 * Benchmark (not a test): a 4-point sweep of lost-fin's read timeout with the default
 * parallelism, each point on a fresh topology (no reuse).
 *
 *   npm run bench:sweep
 *
 * Last line, exactly: `sweep: <P> points, <S> s, <C> s per point, topology reuse <yes|no>`.
 * Needs a Docker engine; images are built first (not counted).
 */
import { connectDocker } from '../harness/engine/docker';
import { ImageStore } from '../harness/engine/images';
import { DEFAULT_PARALLEL } from '../harness/scenario/library';
import { planSweep } from '../harness/sweep/plan';
import { runSweep } from '../harness/sweep/run';
import { renderSweep } from '../harness/sweep/table';
import { lostFinScenario } from '../scenarios/lost-fin';

async function main(): Promise<void> {
  const { docker } = await connectDocker();
  const images = new ImageStore(docker);
  await images.ensureAll();
  const plan = planSweep(lostFinScenario, { variant: 'incident', vary: ['read_timeout_ms=250,500,1000,4000'] });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const result = await runSweep(plan, {
    docker,
    images,
    env: process.env,
    signal: controller.signal,
    parallel: DEFAULT_PARALLEL,
    onRun: (done, total, r) => console.log(`  [${done}/${total}] ${JSON.stringify(r.settings)} ${r.verdict} in ${(r.durationMs / 1000).toFixed(1)} s`),
  });
  console.log(renderSweep(result));
  const s = result.durationMs / 1000;
  console.log(`sweep: ${result.points.length} points, ${s.toFixed(1)} s, ${(s / result.points.length).toFixed(1)} s per point, topology reuse ${result.topologyReuse ? 'yes' : 'no'}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench:sweep failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
