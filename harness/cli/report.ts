import { resolve } from 'node:path';
import { UsageError } from '../errors';
import { ensureWritableDir, writeReport } from '../report/html';
import { readResultsDocument } from '../report/html/results-doc';
import { parseFlags } from './args';
import type { CliIO } from './io';

export const REPORT_HELP = `Usage: faultline report RESULT.json --out DIR

Renders the HTML report of a saved run: RESULT.json is what \`faultline run --json\` printed. Writes
DIR/index.html (one row per scenario x variant), DIR/runs/*.html (a timeline per run and its
diagnosis), the script and stylesheet beside them, and DIR/results.json. Opens with no network.

Options:
  --out DIR    the directory to write (created if missing)
  -h, --help   this help

Exit 0 when written, 2 on bad input.`;

export async function reportCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags('report', args, {
    out: { type: 'string', short: 'o' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(`${REPORT_HELP}\n`);
    return 0;
  }
  if (positionals.length !== 1) {
    throw new UsageError(`faultline report: RESULT.json: give exactly one results file (got ${positionals.length}): faultline report RESULT.json --out DIR`);
  }
  if (!values.out) throw new UsageError('faultline report: --out DIR is required: the directory to write the report to');
  const doc = readResultsDocument(positionals[0]);
  const out = resolve(values.out);
  ensureWritableDir(out, '--out');
  const written = await writeReport(out, doc.results, doc.sweep ? { sweep: doc.sweep } : {});
  io.stdout.write(`report: ${doc.results.length} run${doc.results.length === 1 ? '' : 's'} in ${written.index} (${(written.bytes / 1e6).toFixed(2)} MB)\n`);
  return 0;
}
