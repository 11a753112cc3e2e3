/**
 * Writes a self-contained HTML report: index.html, one page per run under runs/, the bundled
 * script and stylesheet beside them (shared, so 14 pages do not carry 14 copies of the charting
 * library), and results.json, the document every page was drawn from. Opens from file:// with no
 * network: the data of each page is embedded in it, since file:// pages cannot fetch().
 */
import { accessSync, constants, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../../errors';
import type { ScenarioResult } from '../../scenario/types';
import { reportScript } from './bundle';
import type { SweepData } from './heatmap';
import { heatmapCells } from './heatmap';
import { indexRow, type IndexView } from './index-view';
import { runView } from './view';

export interface ReportOptions {
  /** A sweep's knobs and verdicts: the index draws their heatmap. */
  sweep?: SweepData;
  generatedAt?: Date;
}

export interface WrittenReport {
  dir: string;
  index: string;
  pages: string[];
  /** Every byte written: pages, script, stylesheet and results.json. */
  bytes: number;
}

/**
 * Creates DIR if needed and checks it can be written, before any engine work: a report that
 * cannot be written should fail the command at once, not after a 3-minute run.
 */
export function ensureWritableDir(dir: string, flag: string): void {
  if (!dir) throw new UsageError(`${flag} needs a directory path`);
  try {
    mkdirSync(dir, { recursive: true });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new UsageError(`${flag} ${dir} is not a writable directory (${why}): pick a directory you can write`);
  }
}

/** JSON inside <script>: `<` escaped so no string in the data can close the element. */
const embed = (data: unknown) => JSON.stringify(data).replace(/</g, '\\u003c');

const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function page(title: string, kind: 'index' | 'run', data: unknown, base: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<link rel="stylesheet" href="${base}report.css">
</head>
<body data-page="${kind}">
<main id="report"><noscript>This report draws its charts with JavaScript; the data is in results.json.</noscript></main>
<script type="application/json" id="faultline-data">${embed(data)}</script>
<script src="${base}report.js"></script>
</body>
</html>
`;
}

export async function writeReport(dir: string, results: ScenarioResult[], opts: ReportOptions = {}): Promise<WrittenReport> {
  mkdirSync(join(dir, 'runs'), { recursive: true });
  let bytes = 0;
  const write = (path: string, text: string) => {
    writeFileSync(path, text);
    bytes += Buffer.byteLength(text);
  };
  write(join(dir, 'report.js'), await reportScript());
  write(join(dir, 'report.css'), readFileSync(join(__dirname, 'report.css'), 'utf8'));
  write(join(dir, 'results.json'), `${JSON.stringify({ results, ...(opts.sweep ? { sweep: opts.sweep } : {}) })}\n`);

  const used = new Set<string>();
  const pages: string[] = [];
  const rows = results.map((r) => {
    const view = runView(r);
    // A library run has each scenario × variant once; a sweep repeats them: suffix the repeats.
    let id = view.id;
    for (let n = 2; used.has(id); n++) id = `${view.id}-${n}`;
    used.add(id);
    const file = join(dir, 'runs', `${id}.html`);
    write(file, page(`faultline: ${view.title}`, 'run', { ...view, id }, '../'));
    pages.push(file);
    return indexRow(r, { ...view, id }, `runs/${id}.html`);
  });
  const failed = results.filter((r) => !r.matched).length;
  const index: IndexView = {
    title: `faultline report: ${results.length} run${results.length === 1 ? '' : 's'}, ${failed ? `${failed} NOT as expected` : 'all as expected'}`,
    generatedAt: (opts.generatedAt ?? new Date()).toISOString(),
    rows,
    ...(opts.sweep ? { heatmap: heatmapCells(opts.sweep) } : {}),
  };
  const indexPath = join(dir, 'index.html');
  write(indexPath, page(index.title, 'index', index, ''));
  return { dir, index: indexPath, pages, bytes };
}
