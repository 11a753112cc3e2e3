/// <reference lib="dom" />
/** The index: one row per scenario × variant with its verdict, a sparkline and a link. */
import * as Plot from '@observablehq/plot';
import type { Heatmap } from '../heatmap';
import type { IndexRow, IndexView } from '../index-view';
import { FAULT_FILL, P99_COLOR, VERDICT_COLORS } from '../palette';
import { el, fmtMs } from './data';

export function sparkline(row: IndexRow): Element {
  const max = Math.max(row.spark.deadlineMs, ...row.spark.p99.map((p) => p.p99Ms));
  return Plot.plot({
    width: 220,
    height: 36,
    margin: 2,
    axis: null,
    x: { domain: row.spark.span },
    y: { type: 'log', domain: [1, max * 1.2] },
    marks: [
      Plot.rect(row.spark.faults, { x1: 'from', x2: 'to', fill: FAULT_FILL, fillOpacity: 0.15 }),
      Plot.line(row.spark.p99, { x: 't', y: 'p99Ms', stroke: P99_COLOR, strokeWidth: 1.2, curve: 'step-after', className: 'fl-sparkline' }),
    ],
  });
}

/** Verdicts over the swept knobs: colour is the most severe verdict of the cell. */
export function heatmapChart(h: Heatmap): Element {
  const verdicts = [...new Set(h.cells.map((c) => c.verdict))];
  return Plot.plot({
    marginLeft: 90,
    marginBottom: 45,
    padding: 0.05,
    x: { domain: h.xValues, label: `${h.xKnob} →` },
    y: { domain: h.yValues, label: h.yKnob ? `↑ ${h.yKnob}` : null, axis: h.yKnob ? 'left' : null },
    color: { legend: true, domain: verdicts, range: verdicts.map((v) => VERDICT_COLORS[v] ?? '#495057'), label: 'verdict' },
    marks: [
      Plot.cell(h.cells, { x: 'x', y: 'y', fill: 'verdict', inset: 1, className: 'fl-heatmap-cell', title: 'summary' }),
      Plot.text(h.cells, { x: 'x', y: 'y', text: (c: Heatmap['cells'][number]) => (c.count > 1 ? `×${c.count}` : ''), fill: 'white' }),
    ],
  });
}

export function renderIndexPage(root: HTMLElement, v: IndexView): void {
  document.title = v.title;
  root.append(el('h1', {}, v.title), el('p', { class: 'muted' }, `generated ${v.generatedAt}; the data is in results.json beside this page`));
  if (v.heatmap) root.append(el('section', { class: 'heatmap' }, el('h2', {}, 'Verdicts over the swept knobs'), heatmapChart(v.heatmap)));
  const head = el('tr', {}, ...['scenario', 'variant', 'expected', 'verdict', 'ok', 'health p99 (fault shaded)', 'health p99', 'culprit', 'recovery', 'time'].map((h) => el('th', {}, h)));
  const rows = v.rows.map((r) => {
    const verdict = el('span', { class: 'badge' }, r.verdict);
    verdict.style.setProperty('--verdict', VERDICT_COLORS[r.verdict] ?? '#495057');
    return el(
      'tr',
      { class: r.matched ? 'matched' : 'mismatched', 'data-run': r.id },
      el('td', {}, el('a', { href: r.href }, r.scenario)),
      el('td', {}, r.variant),
      el('td', {}, r.expected),
      el('td', {}, verdict),
      el('td', { class: r.matched ? 'ok' : 'bad' }, r.matched ? 'yes' : 'NO'),
      el('td', { class: 'spark' }, sparkline(r)),
      el('td', { class: 'num' }, fmtMs(r.healthP99Ms)),
      el('td', { class: 'culprit' }, r.culprit),
      el('td', { class: 'num' }, fmtMs(r.recoveryMs)),
      el('td', { class: 'num' }, `${r.durationS.toFixed(1)} s`),
    );
  });
  root.append(el('table', { class: 'runs' }, el('thead', {}, head), el('tbody', {}, ...rows)));
}
