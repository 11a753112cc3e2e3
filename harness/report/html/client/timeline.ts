/// <reference lib="dom" />
/** A run's two charts: every request over time (latency, log scale) and pool occupancy. */
import * as Plot from '@observablehq/plot';
import { DIAGNOSIS_COLOR, FAULT_FILL, OUTCOME_COLORS, P99_COLOR, RECOVERY_COLOR } from '../palette';
import type { RunView } from '../view';
import { el, fmtMs } from './data';

const WIDTH = 1100;

const xDomain = (v: RunView) => v.span;

/** Labels above the frame: fault names on the upper row, the diagnosis and recovery below it. */
const MARGIN_TOP = 44;
const UPPER_ROW = -28;
const LOWER_ROW = -10;

/** Shading and rules both charts share: phases, fault windows, the diagnosis, the recovery. */
function contextMarks(v: RunView, opts: { labels: boolean }): Plot.Markish[] {
  const [start, end] = xDomain(v);
  const labelled = v.phases.filter((p) => p.to - p.from >= (end - start) * 0.05);
  const marks: Plot.Markish[] = [
    Plot.rect(v.phases, { x1: 'from', x2: 'to', fill: (_d: unknown, i: number) => (i % 2 ? '#f1f3f5' : '#f8f9fa'), className: 'fl-phase' }),
    Plot.rect(v.faults, { x1: 'from', x2: 'to', fill: FAULT_FILL, fillOpacity: 0.13, className: 'fl-fault-window', title: (f: RunView['faults'][number]) => `fault ${f.name}: ${f.from}–${f.to} s` }),
  ];
  if (opts.labels) {
    marks.push(
      Plot.text(labelled, { x: (p: RunView['phases'][number]) => (p.from + p.to) / 2, text: 'name', frameAnchor: 'bottom', dy: -4, fill: '#868e96', fontSize: 11, className: 'fl-phase-label' }),
      Plot.text(v.faults, { x: 'from', text: (f: RunView['faults'][number]) => `fault: ${f.name}`, frameAnchor: 'top', textAnchor: 'start', dy: UPPER_ROW, fill: FAULT_FILL, fontWeight: 'bold', fontSize: 12, className: 'fl-fault-label' }),
    );
  }
  if (v.diagnosisAt !== undefined) {
    marks.push(Plot.ruleX([v.diagnosisAt], { stroke: DIAGNOSIS_COLOR, strokeWidth: 2, strokeDasharray: '6,3', className: 'fl-diagnosis' }));
    if (opts.labels) marks.push(Plot.text([v.diagnosisAt], { x: (t: number) => t, text: () => 'diagnosis ran', frameAnchor: 'top', textAnchor: 'middle', dy: LOWER_ROW, fill: DIAGNOSIS_COLOR, fontSize: 11, className: 'fl-diagnosis-label' }));
  }
  if (v.recovery) {
    const r = v.recovery;
    marks.push(Plot.rect([r], { x1: 'from', x2: 'to', fill: RECOVERY_COLOR, fillOpacity: 0.18, className: 'fl-recovery' }));
    if (opts.labels) {
      marks.push(Plot.text([r], { x: 'to', text: () => `recovered ${fmtMs(r.ms)} after the heal`, frameAnchor: 'top', textAnchor: 'start', dx: 4, dy: LOWER_ROW, fill: RECOVERY_COLOR, fontSize: 11, className: 'fl-recovery-label' }));
    }
  }
  return marks;
}

/** The latency chart and its legends (outcome colours, request kinds), drawn from its own scales. */
export function latencyChart(v: RunView): { chart: Element; legends: Element[] } {
  const kinds = [...new Set(v.requests.map((r) => r.kind))];
  const outcomes = Object.keys(OUTCOME_COLORS).filter((o) => v.requests.some((r) => r.outcome === o));
  const maxLatency = Math.max(v.deadlineMs, ...v.requests.map((r) => r.latencyMs));
  const chart = Plot.plot({
    width: WIDTH,
    height: 400,
    marginLeft: 60,
    marginRight: 20,
    marginTop: MARGIN_TOP,
    x: { domain: xDomain(v), label: 'time since the run started (s) →', labelAnchor: 'right' },
    y: { type: 'log', domain: [1, maxLatency * 1.6], label: '↑ latency (ms, log scale)', grid: true, tickFormat: '~s' },
    color: { domain: outcomes.length ? outcomes : ['ok'], range: (outcomes.length ? outcomes : ['ok']).map((o) => OUTCOME_COLORS[o]), label: 'outcome' },
    symbol: { domain: kinds, label: 'request' },
    marks: [
      ...contextMarks(v, { labels: true }),
      Plot.ruleY([v.deadlineMs], { stroke: OUTCOME_COLORS.timeout, strokeDasharray: '5,4', className: 'fl-deadline' }),
      Plot.text([v.deadlineMs], { y: (d: number) => d, text: () => `health deadline ${fmtMs(v.deadlineMs)}`, frameAnchor: 'left', textAnchor: 'start', dx: 4, dy: -7, fill: OUTCOME_COLORS.timeout, fontSize: 11 }),
      Plot.dot(v.requests, {
        x: 't',
        y: 'latencyMs',
        fill: 'outcome',
        symbol: kinds.length > 1 ? 'kind' : undefined,
        r: 3,
        fillOpacity: 0.75,
        className: 'fl-request',
        title: (r: RunView['requests'][number]) => `${r.kind}${r.user ? ` (${r.user})` : ''} at ${r.t} s: ${r.outcome}${r.status ? ` ${r.status}` : ''}, ${fmtMs(r.latencyMs)}`,
      }),
      Plot.line(v.p99, { x: 't', y: 'p99Ms', stroke: P99_COLOR, strokeWidth: 1.8, curve: 'step-after', className: 'fl-health-p99' }),
    ],
  }) as ReturnType<typeof Plot.plot>;
  const legends = [chart.legend('color', { label: 'outcome' }), kinds.length > 1 ? chart.legend('symbol', { label: 'request' }) : undefined];
  return { chart, legends: legends.filter((l): l is NonNullable<typeof l> => l !== undefined) };
}

export function poolChart(v: RunView): Element {
  const size = Math.max(1, ...v.pool.map((p) => p.size));
  return Plot.plot({
    width: WIDTH,
    height: 190,
    marginLeft: 60,
    marginRight: 20,
    marginTop: MARGIN_TOP,
    x: { domain: xDomain(v), label: 'time since the run started (s) →', labelAnchor: 'right' },
    y: { domain: [0, size], label: '↑ busy workers', grid: true, ticks: Math.min(size, 8) },
    marks: [
      ...contextMarks(v, { labels: true }),
      Plot.ruleY([size], { stroke: '#495057', strokeDasharray: '3,3' }),
      Plot.text([size], { y: (d: number) => d, text: () => `pool size ${size}`, frameAnchor: 'left', textAnchor: 'start', dx: 4, dy: 8, fill: '#495057', fontSize: 11 }),
      Plot.areaY(v.pool, { x: 't', y: 'busy', curve: 'step-after', fill: '#1971c2', fillOpacity: 0.15 }),
      Plot.line(v.pool, { x: 't', y: 'busy', curve: 'step-after', stroke: '#1971c2', strokeWidth: 2, className: 'fl-pool-busy' }),
    ],
  });
}

/** The marks a scale legend cannot list (lines and shading), as swatches beside the scale legends. */
export function overlayLegend(v: RunView, legends: Element[]): HTMLElement {
  const item = (swatch: string, label: string) => el('span', { class: 'key' }, el('span', { class: `swatch ${swatch}` }), label);
  return el(
    'div',
    { class: 'overlay-legend' },
    ...legends,
    item('p99', `health p99 over a sliding ${v.p99WindowMs / 1000} s window`),
    item('deadline', `health deadline (${fmtMs(v.deadlineMs)})`),
    item('fault', 'fault window'),
    ...(v.diagnosisAt !== undefined ? [item('diagnosis', 'diagnosis ran')] : []),
    ...(v.recovery ? [item('recovery', 'heal → health answers again')] : []),
  );
}
