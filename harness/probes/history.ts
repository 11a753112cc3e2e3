import * as hdr from 'hdr-histogram-js';
import { monotonicMs } from '../util/time';
import type { RequestRecord } from './http';

export type EventKind = 'phase' | 'fault' | 'heal' | 'note';

export interface HistoryEvent {
  t: number;
  kind: EventKind;
  name: string;
  detail?: string;
}

export interface PoolSample {
  t: number;
  busy: number;
  size: number;
}

export interface LatencySummary {
  total: number;
  errors: number;
  p50Ms: number | null;
  p99Ms: number | null;
  maxMs: number | null;
}

/**
 * The record of a run, judged afterwards (the Jepsen way): every request with start, end and
 * outcome, every fault and heal, pool occupancy over time. Times are ms since the origin.
 */
export class History {
  readonly origin = monotonicMs();
  readonly requests: RequestRecord[] = [];
  readonly events: HistoryEvent[] = [];
  readonly pool: PoolSample[] = [];
  private seq = 0;

  now(): number {
    return monotonicMs() - this.origin;
  }

  nextId(): number {
    return ++this.seq;
  }

  event(kind: EventKind, name: string, detail?: string): void {
    this.events.push({ t: this.now(), kind, name, detail });
  }

  /** The time window of a phase: from its event to the next phase event (or now). */
  phaseWindow(name: string): { from: number; to: number } | undefined {
    const phases = this.events.filter((e) => e.kind === 'phase');
    const i = phases.findIndex((e) => e.name === name);
    if (i < 0) return undefined;
    return { from: phases[i].t, to: phases[i + 1]?.t ?? this.now() };
  }

  /** Requests of one kind that started inside [from, to). */
  select(kind: string, window?: { from: number; to: number }): RequestRecord[] {
    return this.requests.filter((r) => r.kind === kind && (!window || (r.start >= window.from && r.start < window.to)));
  }
}

/** Latency percentiles over requests (HDR histogram, 1 ms .. 10 min, 3 significant digits). */
export function summarize(records: RequestRecord[]): LatencySummary {
  if (records.length === 0) return { total: 0, errors: 0, p50Ms: null, p99Ms: null, maxMs: null };
  const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 600_000, numberOfSignificantValueDigits: 3 });
  let errors = 0;
  for (const r of records) {
    if (r.outcome !== 'ok') errors++;
    // A request that never answered counts at its deadline: latency is a lower bound there.
    h.recordValue(Math.max(1, Math.min(600_000, Math.round(r.end - r.start))));
  }
  const out = {
    total: records.length,
    errors,
    p50Ms: h.getValueAtPercentile(50),
    p99Ms: h.getValueAtPercentile(99),
    maxMs: h.maxValue,
  };
  h.destroy();
  return out;
}
