/**
 * Benchmark (not a test): the whole library with early-ending windows and with `--full-windows`,
 * alternating, `--repeats` times (default 5), and whether every run's verdict is the same both
 * ways. `--record DIR` also writes each full-window library as a recorded-histories fixture
 * (test/fixtures/windows: what test/unit/early-end.test.ts replays).
 *
 *   npm run bench:windows -- --repeats 5 [--parallel N] [--record test/fixtures/windows]
 *
 * One line per repeat and mode, then, exactly:
 * `windows: <R> repeats, verdicts identical <same>/<runs>, early library <E> s, full library <F> s`
 * (<E> and <F>: mean wall time of one library). Needs a Docker engine; images are built first.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { connectDocker } from '../harness/engine/docker';
import { ImageStore } from '../harness/engine/images';
import { DEFAULT_PARALLEL, runLibrary } from '../harness/scenario/library';
import { VARIANTS, type ScenarioResult } from '../harness/scenario/types';
import { monotonicMs } from '../harness/util/time';
import { SCENARIOS } from '../scenarios';
import { recordHistories } from '../scripts/record-histories';

const s = (ms: number) => (ms / 1000).toFixed(1);

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { repeats: { type: 'string' }, parallel: { type: 'string' }, record: { type: 'string' } } });
  const repeats = Number(values.repeats ?? 5);
  const parallel = Number(values.parallel ?? DEFAULT_PARALLEL);
  const { docker } = await connectDocker();
  const images = new ImageStore(docker);
  await images.ensureAll();
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const library = async (fullWindows: boolean) => {
    const t0 = monotonicMs();
    const results = await runLibrary(SCENARIOS, VARIANTS, { docker, images, env: process.env, signal: controller.signal, parallel, fullWindows });
    return { results, ms: monotonicMs() - t0 };
  };
  const key = (r: ScenarioResult) => `${r.scenario} ${r.variant}`;
  let same = 0;
  let runs = 0;
  const wall = { early: 0, full: 0 };
  for (let i = 1; i <= repeats; i++) {
    const early = await library(false);
    const full = await library(true);
    wall.early += early.ms;
    wall.full += full.ms;
    const fullBy = new Map(full.results.map((r) => [key(r), r]));
    const differ: string[] = [];
    for (const r of early.results) {
      runs++;
      const other = fullBy.get(key(r));
      if (other && other.verdict === r.verdict && other.matched === r.matched) same++;
      else differ.push(`${key(r)}: early ${r.verdict}${r.matched ? '' : ' (not matched)'}, full ${other?.verdict ?? 'missing'}${other && !other.matched ? ' (not matched)' : ''}`);
    }
    const matched = (rs: ScenarioResult[]) => `${rs.filter((r) => r.matched).length}/${rs.length} matched`;
    console.log(`repeat ${i}: early ${s(early.ms)} s ${matched(early.results)}; full ${s(full.ms)} s ${matched(full.results)}${differ.length ? `; differ: ${differ.join('; ')}` : '; verdicts identical'}`);
    if (values.record) {
      const file = join(values.record, `library-full-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
      writeFileSync(file, `${JSON.stringify(recordHistories(full.results))}\n`);
      console.log(`  recorded full-window histories: ${file}`);
    }
  }
  console.log(`windows: ${repeats} repeats, verdicts identical ${same}/${runs}, early library ${s(wall.early / repeats)} s, full library ${s(wall.full / repeats)} s`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(`bench:windows failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
