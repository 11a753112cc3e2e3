/**
 * A real headless browser for report tests and the report bench: Debian's chromium driven by
 * playwright-core (its own browser downloads cannot be fetched here, so it never downloads one).
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';

/** Where chromium is: FAULTLINE_CHROMIUM, else Debian's package path. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string {
  return env.FAULTLINE_CHROMIUM ?? '/usr/bin/chromium';
}

export async function launchBrowser(env: NodeJS.ProcessEnv = process.env): Promise<Browser> {
  const executablePath = chromiumPath(env);
  if (!existsSync(executablePath)) {
    throw new Error(
      `chromium not found at ${executablePath}: install it with \`apt-get install -y chromium\` (Debian), or set FAULTLINE_CHROMIUM to a Chromium binary`,
    );
  }
  // Chromium refuses to run as root with its sandbox on. The proxy leads nowhere: a page that
  // reached for the network would fail there (and openReport reports any such request).
  const args = ['--proxy-server=127.0.0.1:9', ...(process.getuid?.() === 0 ? ['--no-sandbox'] : [])];
  return chromium.launch({ executablePath, args, headless: true, timeout: 30_000 });
}

export interface OpenedPage {
  page: Page;
  /** Console errors, uncaught exceptions and any request that left file:// (all refused). */
  errors: string[];
  /** From navigation start until the page's script marked it drawn, by the browser's clock. */
  openMs: number;
  /** The same seen from here: includes the driver's round trips and renderer start-up. */
  wallMs: number;
}

/**
 * Opens a report page from disk with the network cut off (see launchBrowser): any request that is
 * not file:// is counted as an error, which proves the report opens with no network. Requests are
 * watched, not intercepted: interception would add a driver round trip to every file loaded.
 */
export async function openReport(browser: Browser, file: string, viewport = { width: 1200, height: 900 }): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('request', (request) => {
    if (!request.url().startsWith('file:')) errors.push(`network request: ${request.url()}`);
  });
  const started = Date.now();
  await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
  const drawnMs = await page
    .waitForSelector('body[data-drawn="true"]', { timeout: 10_000 })
    .then(() => page.evaluate(() => Number(document.body.dataset.drawnMs)))
    .catch(() => {
      errors.push(`page never finished drawing: ${file}`);
      return Number.NaN;
    });
  return { page, errors, openMs: drawnMs, wallMs: Date.now() - started };
}

/** What a run page drew, read from the DOM (the charts' SVG and the chain's boxes). */
export interface DrawnRun {
  points: number;
  faultWindows: number;
  faultLabels: string[];
  p99Lines: number;
  poolLines: number;
  diagnosisRules: number;
  chainRoles: string[];
  chainService: string | null;
  evidence: string[];
}

export function drawnRun(page: Page): Promise<DrawnRun> {
  return page.evaluate(() => {
    const count = (sel: string) => document.querySelectorAll(sel).length;
    const texts = (sel: string) => Array.from(document.querySelectorAll(sel)).map((e) => e.textContent ?? '');
    const service = document.querySelector('.chain .node.service .title');
    return {
      points: count('.chart.latency svg g.fl-request > *'),
      faultWindows: count('.chart.latency svg g.fl-fault-window > rect'),
      faultLabels: texts('.chart.latency svg g.fl-fault-label > text'),
      p99Lines: count('.chart.latency svg g.fl-health-p99 > path'),
      poolLines: count('.chart.pool svg g.fl-pool-busy > path'),
      diagnosisRules: count('.chart.latency svg g.fl-diagnosis > line'),
      chainRoles: Array.from(document.querySelectorAll('.chain .node')).map((e) => e.getAttribute('data-role') ?? ''),
      chainService: service ? service.textContent : null,
      evidence: texts('.diagnosis ul.evidence > li'),
    };
  });
}
