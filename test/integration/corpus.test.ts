/**
 * The diagnosis corpus as a test: every case in test/corpus/cases/ (live processes on this
 * machine, diagnosed through bin/faultline.js in a child process) must be diagnosed right —
 * verdict, exit code and culprit. `npm run bench:corpus` runs the same cases and prints the
 * numbers; this file fails on the first case it gets wrong, naming expected and got.
 *
 * The cases run three at a time in beforeAll (each diagnoses only its own processes), then one
 * test per case reports its result. Needs root (network namespaces, setpriv, FUSE) and the host
 * tools of scripts/ensure-host-tools.sh.
 */
import { cleanupAll, loadCases, runCorpus, summarize, summaryLine, wrongLine, type CaseResult } from '../corpus/runner';

const cases = loadCases();
const results = new Map<string, CaseResult>();

beforeAll(async () => {
  for (const r of await runCorpus(cases, { concurrency: 3 })) results.set(r.name, r);
  process.stdout.write(`${summaryLine(summarize([...results.values()]))}\n`);
}, 20 * 60_000);

afterAll(() => cleanupAll());

test('the corpus holds at least 25 cases, stuck and healthy alike', () => {
  expect(cases.length).toBeGreaterThanOrEqual(25);
  const verdicts = new Set(cases.map((c) => c.spec.expect.verdict));
  expect([...verdicts].sort()).toEqual(['healthy', 'inconclusive', 'stuck']);
});

test.each(cases.map((c) => [c.name]))('%s', (name) => {
  const r = results.get(name);
  expect(r).toBeDefined();
  if (!r!.right) throw new Error(wrongLine(r!));
});
