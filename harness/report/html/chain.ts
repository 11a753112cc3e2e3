/**
 * The diagnosis as the chain the report draws: waiters → lock → holder → syscall → socket →
 * service, one node each, with the culprit's evidence lines (the facts renderText prints).
 */
import type { ChainReport, Diagnosis, ResourceReport } from '../../diagnose/model';
import { KIND_MEANING } from '../../diagnose/render';

export type ChainRole = 'waiters' | 'lock' | 'holder' | 'syscall' | 'socket' | 'service';

export interface ChainNode {
  role: ChainRole;
  title: string;
  detail?: string;
}

export interface ChainView {
  verdict: 'stuck' | 'healthy' | 'inconclusive';
  kind?: string;
  meaning?: string;
  /** The upstream the culprit waits on, when the registry named it. */
  service?: string;
  nodes: ChainNode[];
  evidence: string[];
  warnings: string[];
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 'es'}`;

function pidList(pids: number[], max = 8): string {
  return pids.length <= max ? pids.join(', ') : `${pids.slice(0, max).join(', ')} … (+${pids.length - max})`;
}

function resourceNode(r: ResourceReport): ChainNode {
  if (r.type === 'tcp') {
    return {
      role: 'socket',
      title: `TCP ${r.state ?? ''}`.trim(),
      detail: `fd ${r.fd}: ${r.local} → ${r.remote}; tx_queue ${r.txQueue}, rx_queue ${r.rxQueue}, timer ${r.timer}`,
    };
  }
  const where = [r.fd !== undefined ? `fd ${r.fd}` : undefined, r.path].filter(Boolean).join(' ');
  return { role: 'socket', title: r.type, ...(where ? { detail: where } : {}) };
}

function linkNodes(d: Diagnosis, chain: ChainReport): ChainNode[] {
  const command = (pid: number) => d.processes.find((p) => p.pid === pid)?.command;
  const syscallOf = (pid: number) => d.processes.find((p) => p.pid === pid)?.syscall;
  const nodes: ChainNode[] = [];
  // Outermost waiters first, as renderText tells it.
  for (const link of [...chain.links].reverse()) {
    const inSyscall = syscallOf(link.waiters[0] as number);
    nodes.push({ role: 'waiters', title: plural(link.waiters.length, 'process'), detail: `pids ${pidList(link.waiters)}${inSyscall ? ` in ${inSyscall}` : ''}` });
    nodes.push({ role: 'lock', title: `${link.lock.type} ${link.lock.access} lock`, detail: `${link.lock.path ?? ''} (${link.lock.file})`.trim() });
    nodes.push({ role: 'holder', title: `pid ${link.holder}`, detail: command(link.holder) });
  }
  if (chain.links.length === 0) {
    // An upstream pile-up without locks: the other stuck workers wait on the same upstream.
    if (chain.waiters.length) nodes.push({ role: 'waiters', title: plural(chain.waiters.length, 'process'), detail: `pids ${pidList(chain.waiters)}` });
    nodes.push({ role: 'holder', title: `pid ${chain.root}`, detail: command(chain.root) });
  }
  const thread = chain.tid !== undefined && chain.tid !== chain.root ? ` (thread ${chain.tid})` : '';
  nodes.push({ role: 'syscall', title: chain.syscall ?? 'unknown', ...(thread ? { detail: thread.trim() } : {}) });
  nodes.push(resourceNode(chain.resource));
  if (chain.resource.service || chain.resource.remote) {
    nodes.push({ role: 'service', title: chain.resource.service ?? chain.resource.remote ?? '?', ...(chain.resource.remote ? { detail: chain.resource.remote } : {}) });
  }
  return nodes;
}

export function chainView(d: Diagnosis): ChainView {
  const c = d.culprit;
  const warnings = d.warnings ?? [];
  // What could not be read, and what would let the diagnoser see: never drawn as "no culprit".
  if (d.verdict === 'inconclusive') return { verdict: 'inconclusive', nodes: [], evidence: d.inconclusive?.reasons ?? [], warnings: [...(d.inconclusive?.hints ?? []), ...warnings] };
  if (!c) return { verdict: 'healthy', nodes: [], evidence: [], warnings };
  const chain = d.chains.find((ch) => ch.root === c.pid && ch.culprit);
  const service = c.resource.service;
  return {
    verdict: 'stuck',
    kind: c.kind,
    meaning: KIND_MEANING[c.kind],
    ...(service ? { service } : {}),
    nodes: chain ? linkNodes(d, chain) : linkNodes(d, { root: c.pid, kind: c.kind, culprit: true, waiters: c.waiters, links: [], resource: c.resource, syscall: c.syscall, ...(c.tid !== undefined ? { tid: c.tid } : {}), evidence: c.evidence }),
    evidence: c.evidence,
    warnings,
  };
}
