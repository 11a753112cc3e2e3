/**
 * Report bench: builds the HTML report of a whole-library result and opens every page in a real
 * headless chromium. Last line: `report: <N> runs, <MB> MB, open <S> s`, where S is the slowest
 * page (index or run) from navigation start to drawn, by the browser's clock (wall time, with the
 * driver's overhead, is printed per page too). The budget is 5 MB and 2 s.
 *
 *   npm run bench:report                  # the recorded library result (test/fixtures/report/library.json)
 *   npm run bench:report -- RESULT.json   # any saved `faultline run --json` output
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { writeReport } from '../harness/report/html';
import { readResultsDocument } from '../harness/report/html/results-doc';
import { launchBrowser, openReport } from '../test/helpers/browser';

const MB = 1e6;

function totalBytes(path: string): number {
  const st = statSync(path);
  return st.isDirectory() ? readdirSync(path).reduce((s, f) => s + totalBytes(join(path, f)), 0) : st.size;
}

async function main(): Promise<void> {
  const input = resolve(process.argv[2] ?? join(__dirname, '..', 'test', 'fixtures', 'report', 'library.json'));
  const doc = readResultsDocument(input);
  const dir = mkdtempSync(join(tmpdir(), 'faultline-bench-report-'));
  const browser = await launchBrowser();
  try {
    const built = Date.now();
    const written = await writeReport(dir, doc.results, doc.sweep ? { sweep: doc.sweep } : {});
    console.log(`built ${relative(process.cwd(), input)} into ${dir} in ${Date.now() - built} ms (bundle included)`);
    let slowestMs = 0;
    for (const file of [written.index, ...written.pages]) {
      const { page, errors, openMs, wallMs } = await openReport(browser, file);
      if (errors.length) throw new Error(`${file}: ${errors.join('; ')}`);
      slowestMs = Math.max(slowestMs, openMs);
      console.log(`  ${relative(dir, file).padEnd(40)} open ${openMs} ms (wall ${wallMs} ms)`);
      await page.close();
    }
    const bytes = totalBytes(dir);
    console.log(`report: ${doc.results.length} runs, ${(bytes / MB).toFixed(2)} MB, open ${(slowestMs / 1000).toFixed(2)} s`);
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    console.error(`bench:report: ${e.message}`);
    process.exit(1);
  },
);
