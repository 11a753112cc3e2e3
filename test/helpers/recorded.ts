import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { History } from '../../harness/probes/history';
import type { Outcome } from '../../harness/probes/http';
import type { Verdict } from '../../harness/scenario/types';

/** A library run as scripts/record-histories.ts recorded it (real runs, full windows). */
export interface RecordedRun {
  file: string;
  scenario: string;
  variant: string;
  verdict: Verdict;
  poolSize: number;
  history: History;
}

const DIR = join(__dirname, '..', 'fixtures', 'windows');

/** Every recorded run of test/fixtures/windows, each as a History the judge can read. */
export function recordedRuns(): RecordedRun[] {
  return readdirSync(DIR)
    .filter((f) => f.endsWith('.json'))
    .flatMap((file) => {
      const doc = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as {
        runs: Array<{
          scenario: string;
          variant: string;
          verdict: Verdict;
          poolSize: number;
          requests: Array<{ kind: string; start: number; end: number; outcome: Outcome }>;
          pool: Array<{ t: number; busy: number; size: number }>;
          events: Array<{ t: number; kind: 'phase' | 'note'; name: string }>;
        }>;
      };
      return doc.runs.map((r) => {
        const history = new History();
        r.requests.forEach((q, i) => history.requests.push({ id: i + 1, ...q }));
        history.pool.push(...r.pool);
        history.events.push(...r.events);
        return { file, scenario: r.scenario, variant: r.variant, verdict: r.verdict, poolSize: r.poolSize, history };
      });
    });
}
