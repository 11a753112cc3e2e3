/**
 * `faultline run lost-fin --variant incident --report DIR --json` on real containers, and the
 * report it wrote opened in a real headless chromium: what is drawn must be what was recorded.
 * Set FAULTLINE_REPORT_SCREENSHOT=docs/report-lost-fin.png to refresh the README's screenshot.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import type { ScenarioResult } from '../../harness/scenario/types';
import { drawnRun, launchBrowser, openReport } from '../helpers/browser';
import { runCli } from '../helpers/cli';

let dir: string;
let browser: Browser | undefined;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-report-run-'));
});
afterAll(async () => {
  await browser?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('a real lost-fin incident run writes a report that draws every request, the fault and the culprit chain', async () => {
  // The browser first: a missing chromium should fail in a second, not after the run.
  browser = await launchBrowser();
  const run = await runCli(['run', 'lost-fin', '--variant', 'incident', '--report', dir, '--json']);
  expect(run.stderr).toContain(`report: ${join(dir, 'index.html')}`);
  expect(run.code).toBe(0);
  const { results } = JSON.parse(run.stdout) as { results: ScenarioResult[] };
  expect(results).toHaveLength(1);
  const [r] = results;
  expect(JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).results).toEqual(results);
  expect(r.timeline!.requests.length).toBeGreaterThan(20);

  const index = await openReport(browser, join(dir, 'index.html'));
  expect(index.errors).toEqual([]);
  const href = await index.page.$eval('table.runs tbody tr a', (a) => a.getAttribute('href'));
  expect(href).toBe('runs/lost-fin-incident.html');

  const opened = await openReport(browser, join(dir, href as string));
  expect(opened.errors).toEqual([]);
  const drawn = await drawnRun(opened.page);
  expect(drawn.points).toBe(r.timeline!.requests.length);
  expect(r.faults.length).toBeGreaterThan(0);
  expect(drawn.faultWindows).toBe(r.faults.length);
  expect(drawn.faultLabels).toEqual(r.faults.map((f) => `fault: ${f.name}`));
  // Each fault's proof of effect, as the result has it.
  const listed = await opened.page.$$eval('section.faults > ul > li', (els) => els.map((e) => e.textContent ?? ''));
  expect(listed).toHaveLength(r.faults.length);
  expect(r.faults[0].effect?.confirmed).toBe(true);
  expect(listed[0]).toContain(`${r.faults[0].name} `);
  expect(listed[0]).toContain('Effect: confirmed');
  expect(listed[0]).toContain(r.faults[0].effect!.evidence[0]);
  expect(drawn.diagnosisRules).toBe(1);
  expect(drawn.chainRoles).toEqual(['waiters', 'lock', 'holder', 'syscall', 'socket', 'service']);
  expect(drawn.chainService).toBe('profile');
  const evidence = (r.diagnosis as { culprit: { evidence: string[] } }).culprit.evidence;
  expect(drawn.evidence).toEqual(evidence);

  const shot = process.env.FAULTLINE_REPORT_SCREENSHOT;
  if (shot) await opened.page.screenshot({ path: shot, fullPage: true });
});
