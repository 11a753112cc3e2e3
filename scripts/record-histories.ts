/**
 * Turns `faultline run --json --full-windows` output into a recorded-histories fixture for
 * test/unit/early-end.test.ts: per run, what the judge reads (health requests, pool samples,
 * phase events) and the verdict the full window gave. `npm run bench:windows -- --record DIR`
 * writes these directly.
 *
 *   npx faultline run --json --full-windows > /tmp/full.json
 *   npx tsx scripts/record-histories.ts /tmp/full.json test/fixtures/windows/NAME.json
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { ScenarioResult } from '../harness/scenario/types';

export function recordHistories(results: readonly ScenarioResult[]) {
  const runs = results
    .filter((r) => r.timeline && r.verdict !== 'error')
    .map((r) => ({
      scenario: r.scenario,
      variant: r.variant,
      verdict: r.verdict,
      poolSize: r.pool.size,
      requests: r.timeline!.requests.filter((q) => q.kind === 'health').map(({ kind, start, end, outcome }) => ({ kind, start, end, outcome })),
      pool: r.timeline!.pool,
      events: r.timeline!.events.filter((e) => e.kind === 'phase' || e.name.startsWith('diagnosis')),
    }));
  return { recorded: new Date().toISOString().slice(0, 10), runs };
}

if (require.main === module) {
  const [input, output] = process.argv.slice(2);
  if (!input || !output) {
    console.error('usage: tsx scripts/record-histories.ts RESULTS.json FIXTURE.json');
    process.exit(2);
  }
  const fixture = recordHistories((JSON.parse(readFileSync(input, 'utf8')) as { results: ScenarioResult[] }).results);
  writeFileSync(output, `${JSON.stringify(fixture)}\n`);
  console.log(`${fixture.runs.length} runs -> ${output}`);
}
