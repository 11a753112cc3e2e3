/**
 * A heatmap of verdicts over swept knobs, for the index page of a sweep: one cell per pair of
 * knob values (one knob: a single row), coloured by the most severe verdict seen there.
 * Generic on purpose: a sweep hands {knobs, points}, whatever the knobs are.
 */
import { UsageError } from '../../errors';
import { severity } from '../../scenario/verdicts';

export type KnobValue = string | number | boolean;

export interface SweepData {
  /** The swept knobs, one or two: the first runs along x, the second along y. */
  knobs: string[];
  points: Array<{ settings: Record<string, KnobValue>; verdict: string }>;
}

export interface HeatmapCell {
  x: string;
  y: string;
  /** The most severe verdict among the runs of this cell. */
  verdict: string;
  count: number;
  /** Every verdict seen here with its count, most severe first (`hung ×2, responsive ×1`). */
  summary: string;
}

export interface Heatmap {
  xKnob: string;
  yKnob?: string;
  xValues: string[];
  yValues: string[];
  cells: HeatmapCell[];
}

const UNIT_MS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** A number, or a duration like "250ms" / "2s" in ms; NaN for anything else. */
function magnitude(s: string): number {
  const m = /^(-?\d+(?:\.\d+)?)\s*(ms|s|m|h)?$/.exec(s.trim());
  return m ? Number(m[1]) * UNIT_MS[m[2] ?? ''] : Number.NaN;
}

/** Knob values in their natural order: numbers and durations by magnitude, the rest by name. */
function orderValues(values: string[]): string[] {
  const numeric = values.every((v) => !Number.isNaN(magnitude(v)));
  return [...values].sort((a, b) => (numeric ? magnitude(a) - magnitude(b) : a.localeCompare(b)));
}

export function heatmapCells(sweep: SweepData): Heatmap {
  const { knobs, points } = sweep;
  if (!Array.isArray(knobs) || knobs.length < 1 || knobs.length > 2) {
    throw new UsageError(`heatmap: knobs must name 1 or 2 swept knobs, got ${JSON.stringify(knobs)}`);
  }
  const [xKnob, yKnob] = knobs;
  const key = (p: SweepData['points'][number], knob: string | undefined, index: number): string => {
    if (knob === undefined) return '';
    const v = p.settings[knob];
    if (v === undefined) throw new UsageError(`heatmap: point ${index} has no setting for knob "${knob}"`);
    return String(v);
  };
  const byCell = new Map<string, { x: string; y: string; verdicts: Map<string, number> }>();
  points.forEach((p, i) => {
    const x = key(p, xKnob, i);
    const y = key(p, yKnob, i);
    const id = JSON.stringify([x, y]);
    const cell = byCell.get(id) ?? { x, y, verdicts: new Map<string, number>() };
    cell.verdicts.set(p.verdict, (cell.verdicts.get(p.verdict) ?? 0) + 1);
    byCell.set(id, cell);
  });
  const cells = [...byCell.values()].map(({ x, y, verdicts }) => {
    const ranked = [...verdicts].sort((a, b) => severity(b[0]) - severity(a[0]));
    return {
      x,
      y,
      verdict: ranked[0][0],
      count: ranked.reduce((s, [, n]) => s + n, 0),
      summary: ranked.map(([v, n]) => `${v} ×${n}`).join(', '),
    };
  });
  return {
    xKnob,
    ...(yKnob !== undefined ? { yKnob } : {}),
    xValues: orderValues([...new Set(cells.map((c) => c.x))]),
    yValues: orderValues([...new Set(cells.map((c) => c.y))]),
    cells,
  };
}
