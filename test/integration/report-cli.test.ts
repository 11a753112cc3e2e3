/**
 * `faultline report` on a saved whole-library result (test/fixtures/report/library.json, recorded
 * from `faultline run --json`), opened in a real headless chromium with the network cut off.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { ScenarioResult } from '../../harness/scenario/types';
import { drawnRun, launchBrowser, openReport } from '../helpers/browser';
import { runCli } from '../helpers/cli';

jest.setTimeout(120_000);

const FIXTURE = join(__dirname, '..', 'fixtures', 'report', 'library.json');
const results = (JSON.parse(readFileSync(FIXTURE, 'utf8')) as { results: ScenarioResult[] }).results;

let dir: string;
let browser: Browser;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-report-'));
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

function totalBytes(path: string): number {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((s, f) => s + totalBytes(join(path, f)), 0) : st.size;
}

test('renders every run of a saved library result, each page drawing what the JSON holds', async () => {
  const run = await runCli(['report', FIXTURE, '--out', dir]);
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  expect(run.stdout).toMatch(new RegExp(`report: ${results.length} runs in .*index\\.html`));
  expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).results).toEqual(results);

  // The whole library: at most 5 MB. How fast pages open is measured by `npm run bench:report`
  // (a timing, not a behaviour: under load it varies, and a test must not).
  expect(totalBytes(dir)).toBeLessThan(5e6);
  const index = await openReport(browser, join(dir, 'index.html'));
  expect(index.errors).toEqual([]);
  const rows = await index.page.$$eval('table.runs tbody tr', (trs) =>
    trs.map((tr) => ({ cells: Array.from(tr.querySelectorAll('td')).map((td) => td.textContent), href: tr.querySelector('a')?.getAttribute('href'), spark: tr.querySelectorAll('svg g.fl-sparkline path').length })),
  );
  expect(rows).toHaveLength(results.length);
  await index.page.close();

  for (const [i, r] of results.entries()) {
    expect(rows[i].cells.slice(0, 4)).toEqual([r.scenario, r.variant, r.expected, r.verdict]);
    expect(rows[i].spark).toBe(1);
    const opened = await openReport(browser, join(dir, rows[i].href as string));
    const label = `${r.scenario} ${r.variant}`;
    expect({ label, errors: opened.errors }).toEqual({ label, errors: [] });
    const drawn = await drawnRun(opened.page);
    expect({ label, points: drawn.points }).toEqual({ label, points: r.timeline!.requests.length });
    expect({ label, faults: drawn.faultLabels }).toEqual({ label, faults: r.faults.map((f) => `fault: ${f.name}`) });
    expect(drawn.faultWindows).toBe(r.faults.length);
    expect(drawn.p99Lines).toBe(1);
    expect(drawn.poolLines).toBe(1);
    const culprit = (r.diagnosis as { culprit?: { resource: { service?: string } } | null } | undefined)?.culprit;
    expect({ label, service: drawn.chainService }).toEqual({ label, service: culprit?.resource.service ?? null });
    if (culprit) expect(drawn.chainRoles).toEqual(expect.arrayContaining(['waiters', 'holder', 'syscall', 'socket', 'service']));
    await opened.page.close();
  }
});

test('a results document carrying a sweep gets a heatmap of verdicts over its knobs on the index', async () => {
  const points = [];
  for (const timeout of ['500ms', '2s', 'none']) {
    for (const workers of [4, 8]) points.push({ settings: { timeout, workers }, verdict: timeout === 'none' ? 'hung' : 'responsive' });
  }
  points.push({ settings: { timeout: '2s', workers: 8 }, verdict: 'degraded' });
  const file = join(dir, 'sweep.json');
  writeFileSync(file, JSON.stringify({ results: results.slice(0, 2), sweep: { knobs: ['timeout', 'workers'], points } }));
  const out = join(dir, 'sweep-report');
  const run = await runCli(['report', file, '--out', out]);
  expect(run.code).toBe(0);
  const index = await openReport(browser, join(out, 'index.html'));
  expect(index.errors).toEqual([]);
  const cells = await index.page.$$eval('.heatmap svg g.fl-heatmap-cell > rect', (rects) => rects.map((r) => r.querySelector('title')?.textContent));
  expect(cells).toHaveLength(6);
  expect(cells).toContain('degraded ×1, responsive ×1');
  expect(await index.page.$$eval('table.runs tbody tr', (trs) => trs.length)).toBe(2);
});
