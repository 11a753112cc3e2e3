/// <reference lib="dom" />
/** The diagnosis drawn as its chain of boxes, with the evidence and the full text output. */
import type { ChainView } from '../chain';
import { el } from './data';

const ROLE_LABEL: Record<string, string> = {
  waiters: 'waiting workers',
  lock: 'lock',
  holder: 'holder',
  syscall: 'blocked in',
  socket: 'on',
  service: 'upstream service',
};

export function chainSection(chain: ChainView | undefined, text: string | undefined, diagnosisAt: number | undefined): HTMLElement {
  const section = el('section', { class: 'diagnosis' }, el('h2', {}, 'Diagnosis'));
  if (!chain) {
    section.append(el('p', { class: 'muted' }, 'This run was not diagnosed (no culprit expected, or the pool was not saturated).'));
    return section;
  }
  const when = diagnosisAt !== undefined ? ` (ran at ${diagnosisAt} s)` : '';
  if (chain.verdict === 'inconclusive') {
    section.append(el('p', { class: 'stuck' }, el('strong', {}, 'INCONCLUSIVE'), ` — what decides could not be read${when}: neither stuck nor healthy can be said.`));
    section.append(el('h3', {}, 'Could not read'), el('ul', { class: 'evidence' }, ...chain.evidence.map((e) => el('li', {}, e))));
  } else if (chain.verdict === 'healthy') {
    section.append(el('p', { class: 'healthy' }, `No culprit: no process blocks others on a lock, and no upstream holds workers${when}.`));
  } else {
    section.append(el('p', { class: 'stuck' }, el('strong', {}, `STUCK: ${chain.kind}`), ` — ${chain.meaning ?? ''}${when}`));
    const row = el('div', { class: 'chain', 'data-service': chain.service ?? '' });
    chain.nodes.forEach((node, i) => {
      if (i > 0) row.append(el('span', { class: 'arrow', 'aria-hidden': 'true' }, '→'));
      row.append(
        el(
          'div',
          { class: `node ${node.role}`, 'data-role': node.role },
          el('div', { class: 'role' }, ROLE_LABEL[node.role] ?? node.role),
          el('div', { class: 'title' }, node.title),
          ...(node.detail ? [el('div', { class: 'detail' }, node.detail)] : []),
        ),
      );
    });
    section.append(row, el('h3', {}, 'Evidence'), el('ul', { class: 'evidence' }, ...chain.evidence.map((e) => el('li', {}, e))));
  }
  if (chain.warnings.length) section.append(el('h3', {}, 'Warnings'), el('ul', { class: 'warnings' }, ...chain.warnings.map((w) => el('li', {}, w))));
  if (text) section.append(el('details', {}, el('summary', {}, 'faultline diagnose text output'), el('pre', {}, text)));
  return section;
}
