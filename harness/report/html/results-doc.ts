/**
 * Reads a saved `faultline run --json` document ({"results":[...]}) for `faultline report`,
 * checking its shape first so a wrong file fails with one line, not a blank page.
 */
import { readFileSync } from 'node:fs';
import { UsageError } from '../../errors';
import type { ScenarioResult } from '../../scenario/types';
import type { SweepData } from './heatmap';

export interface ResultsDocument {
  results: ScenarioResult[];
  sweep?: SweepData;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The first field of result `i` that a report needs and lacks, or undefined. */
function missingField(r: unknown): string | undefined {
  if (!isObject(r)) return 'is not an object';
  const strings = ['scenario', 'variant', 'verdict', 'expected', 'runId'] as const;
  for (const k of strings) if (typeof r[k] !== 'string') return `has no string "${k}"`;
  if (typeof r.matched !== 'boolean') return 'has no boolean "matched"';
  if (typeof r.durationMs !== 'number') return 'has no number "durationMs"';
  if (!isObject(r.health)) return 'has no "health" object';
  if (!Array.isArray(r.phases)) return 'has no "phases" array';
  if (!Array.isArray(r.faults)) return 'has no "faults" array';
  if (r.timeline !== undefined) {
    const t = r.timeline;
    if (!isObject(t) || !Array.isArray(t.requests) || !Array.isArray(t.pool) || !Array.isArray(t.events)) {
      return 'has a "timeline" without requests, pool and events arrays';
    }
  }
  return undefined;
}

export function parseResultsDocument(text: string, where: string): ResultsDocument {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${where} is not JSON (${(e as Error).message.split('\n')[0]}): pass the output of \`faultline run --json\``);
  }
  if (!isObject(doc) || !Array.isArray(doc.results)) {
    throw new UsageError(`${where} is not a results document (no "results" array): pass the output of \`faultline run --json\``);
  }
  if (doc.results.length === 0) throw new UsageError(`${where} has no results to report: run at least one scenario`);
  doc.results.forEach((r, i) => {
    const missing = missingField(r);
    if (missing) throw new UsageError(`${where}: results[${i}] ${missing}: pass the output of \`faultline run --json\``);
  });
  return doc as unknown as ResultsDocument;
}

export function readResultsDocument(path: string): ResultsDocument {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a directory' : `cannot be read (${code ?? (e as Error).message})`;
    throw new UsageError(`RESULT.json ${path} ${why}: pass the file \`faultline run --json > FILE\` wrote`);
  }
  return parseResultsDocument(text, `RESULT.json ${path}`);
}
