/**
 * Incident snapshots: what the watcher saw when it declared an incident, written at once, since
 * by the time someone looks the evidence may be gone (the incident behind this project recovered
 * by itself hours later). One JSON file (the diagnosis, the raw /proc evidence it rests on, the
 * time, the host or container) plus the text report beside it; the oldest go past --keep.
 */
import { readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors';
import { renderText, toJson, type Diagnosis } from '../diagnose';
import type { Collected } from '../diagnose/model';
import { faultlineVersion } from './version';

export const SNAPSHOT_FORMAT = 'faultline-incident/1';
const NAME = /^incident-\d{8}T\d{6}(\d{3})?Z(-\d+)?\.json$/;

export interface IncidentSnapshot {
  format: typeof SNAPSHOT_FORMAT;
  faultline: string;
  /** When the incident was declared (ISO 8601, UTC). */
  time: string;
  /** When the first of the consecutive stuck samples was taken. */
  stuckSince: string;
  stuckSamples: number;
  intervalMs: number;
  host: string;
  target: { container?: string; match?: string; pids?: number[] };
  diagnosis: Record<string, unknown>;
  /** The samples the diagnosis was computed from, as the collector read them. */
  evidence: unknown;
}

/** Maps as objects, so the evidence reads back as JSON (the collector keeps processes by pid). */
function evidenceJson(collected: Collected): unknown {
  return JSON.parse(JSON.stringify(collected, (_k, v: unknown) => (v instanceof Map ? Object.fromEntries(v) : typeof v === 'bigint' ? v.toString() : v)));
}

function stamp(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.(\d{3})Z$/, '$1Z');
}

export function writeSnapshot(
  dir: string,
  input: { diagnosis: Diagnosis; collected: Collected; at: Date; stuckSince: Date; stuckSamples: number; intervalMs: number; target: IncidentSnapshot['target'] },
  keep: number,
): string {
  const snapshot: IncidentSnapshot = {
    format: SNAPSHOT_FORMAT,
    faultline: faultlineVersion(),
    time: input.at.toISOString(),
    stuckSince: input.stuckSince.toISOString(),
    stuckSamples: input.stuckSamples,
    intervalMs: input.intervalMs,
    host: hostname(),
    target: input.target,
    diagnosis: toJson(input.diagnosis),
    evidence: evidenceJson(input.collected),
  };
  let base = `incident-${stamp(input.at)}`;
  for (let n = 1; existing(dir).includes(`${base}.json`); n++) base = `incident-${stamp(input.at)}-${n}`;
  const path = join(dir, `${base}.json`);
  // Written whole, then renamed: an --on-stuck program or a reader never sees half a file.
  writeFileSync(join(dir, `.${base}.txt.tmp`), renderText(input.diagnosis));
  renameSync(join(dir, `.${base}.txt.tmp`), join(dir, `${base}.txt`));
  writeFileSync(join(dir, `.${base}.json.tmp`), `${JSON.stringify(snapshot, null, 2)}\n`);
  renameSync(join(dir, `.${base}.json.tmp`), path);
  rotate(dir, keep);
  return path;
}

function existing(dir: string): string[] {
  return readdirSync(dir).filter((f) => NAME.test(f)).sort();
}

/** Keeps the newest `keep` snapshots (names sort by time), each with its text report. */
export function rotate(dir: string, keep: number): string[] {
  const all = existing(dir);
  const gone = all.slice(0, Math.max(0, all.length - keep));
  for (const f of gone) {
    rmSync(join(dir, f), { force: true });
    rmSync(join(dir, f.replace(/\.json$/, '.txt')), { force: true });
  }
  return gone;
}

/** Reads a snapshot back (`faultline scenario from`); a file that is not one is bad input. */
export function readSnapshot(path: string, where: string): IncidentSnapshot {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new UsageError(`${where}: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): name a snapshot written by faultline watch`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new UsageError(`${where}: ${path} is not JSON: name a snapshot written by faultline watch (incident-*.json)`);
  }
  const s = raw as Partial<IncidentSnapshot>;
  if (s.format !== SNAPSHOT_FORMAT || typeof s.diagnosis !== 'object' || s.diagnosis === null) {
    throw new UsageError(`${where}: ${path} is not a faultline incident snapshot (no "format": "${SNAPSHOT_FORMAT}"): name a file faultline watch wrote`);
  }
  return s as IncidentSnapshot;
}
