/// <reference lib="dom" />
/** One run's page: header facts, the two charts, the diagnosis chain and the notes. */
import { VERDICT_COLORS } from '../palette';
import type { RunView } from '../view';
import { chainSection } from './chain';
import { el, fmtMs } from './data';
import { latencyChart, overlayLegend, poolChart } from './timeline';

function fact(label: string, value: string, cls = ''): HTMLElement {
  return el('div', { class: `fact ${cls}`.trim() }, el('div', { class: 'label' }, label), el('div', { class: 'value' }, value));
}

export function renderRunPage(root: HTMLElement, v: RunView): void {
  document.title = `faultline: ${v.title}`;
  const verdict = fact('verdict', `${v.verdict}${v.matched ? '' : ` (expected ${v.expected})`}`, 'verdict');
  verdict.style.setProperty('--verdict', VERDICT_COLORS[v.verdict] ?? '#495057');
  root.append(
    el('nav', {}, el('a', { href: '../index.html' }, '← all runs')),
    el('h1', {}, v.title),
    el(
      'div',
      { class: 'facts' },
      verdict,
      fact('as expected', v.matched ? 'yes' : 'NO', v.matched ? 'ok' : 'bad'),
      fact('health p99', fmtMs(v.healthP99Ms)),
      fact('requests', String(v.requests.length)),
      fact('culprit', v.culprit),
      fact('recovery', v.recovery ? fmtMs(v.recovery.ms) : '–'),
      fact('duration', `${v.durationS.toFixed(1)} s`),
      fact('run id', v.runId),
    ),
  );
  if (v.error) root.append(el('p', { class: 'bad' }, `run failed: ${v.error}`));
  if (v.mismatch.length) root.append(el('ul', { class: 'mismatch' }, ...v.mismatch.map((m) => el('li', {}, m))));
  if (v.faults.length) {
    root.append(
      el(
        'section',
        { class: 'faults' },
        el('h2', {}, 'Faults'),
        el(
          'ul',
          {},
          ...v.faults.map((f) =>
            el(
              'li',
              { class: f.effect === 'NOT confirmed' ? 'bad' : '' },
              el('strong', {}, f.name),
              ` ${f.from}–${f.to} s: ${f.description}. Effect: ${f.effect}`,
              ...(f.evidence.length ? [el('ul', { class: 'evidence' }, ...f.evidence.map((e) => el('li', {}, e)))] : []),
            ),
          ),
        ),
      ),
    );
  }
  const latency = latencyChart(v);
  root.append(
    el('section', { class: 'chart latency' }, el('h2', {}, 'Every request'), overlayLegend(v, latency.legends), latency.chart),
    el('section', { class: 'chart pool' }, el('h2', {}, 'Worker pool occupancy'), poolChart(v)),
    chainSection(v.chain, v.diagnosisText, v.diagnosisAt),
  );
  if (v.notes.length) {
    root.append(el('section', { class: 'notes' }, el('h2', {}, 'Notes'), el('ul', {}, ...v.notes.map((n) => el('li', {}, `${n.t ?? ''} s — ${n.name}${n.detail ? `: ${n.detail}` : ''}`)))));
  }
}
