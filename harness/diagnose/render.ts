/** Render a Diagnosis as the story an engineer would tell, or as the documented JSON. */
import { fmtMs } from './analyze';
import { KIND_MEANING } from './kinds';
import type { ChainReport, Diagnosis, ResourceReport } from './model';
import { guessText } from './services';

export { KIND_MEANING };


/** `5432, probably postgres` (see services.ts: a port is a guess, never a name). */
function guessOf(r: ResourceReport): string {
  const port = Number(/:([0-9]+)$/.exec(r.remote ?? '')?.[1]);
  return guessText(port, r.serviceGuess as string);
}

function resourceText(r: ResourceReport): string {
  switch (r.type) {
    case 'tcp': {
      const svc = r.service ? ` [service ${r.service}]` : r.serviceGuess ? ` [${guessOf(r)}]` : '';
      const diag = [
        r.unacked !== undefined ? `unacked ${r.unacked}` : '',
        r.retransmits ? `${r.retransmits} retransmits` : '',
        r.lastSendMs !== undefined ? `last send ${fmtMs(r.lastSendMs)} ago` : '',
        r.lastReceiveMs !== undefined ? `last receive ${fmtMs(r.lastReceiveMs)} ago` : '',
      ].filter(Boolean);
      return `fd ${r.fd}: TCP ${r.local} -> ${r.remote}${svc} ${r.state}, tx_queue ${r.txQueue}, rx_queue ${r.rxQueue}, timer ${r.timer}${diag.length ? `, ${diag.join(', ')}` : ''}`;
    }
    case 'cpu':
      return 'CPU (no syscall)';
    case 'timer':
      return 'a timer (sleep)';
    case 'lock':
      return `lock ${r.path ?? ''}${r.fd !== undefined ? ` (fd ${r.fd})` : ''}`.trim();
    default:
      return `${r.type}${r.fd !== undefined ? ` fd ${r.fd}` : ''}${r.path ? ` ${r.path}` : ''}`;
  }
}

/** ` (thread 125)` when the syscall shown is not the main thread's. */
function threadNote(pid: number, tid: number | undefined): string {
  return tid !== undefined && tid !== pid ? ` (thread ${tid})` : '';
}

function pidList(pids: number[], max = 12): string {
  if (pids.length <= max) return pids.join(', ');
  return `${pids.slice(0, max).join(', ')} … (+${pids.length - max})`;
}

function chainLines(d: Diagnosis, chain: ChainReport, indent: string): string[] {
  const lines: string[] = [];
  const proc = (pid: number) => d.processes.find((p) => p.pid === pid);
  // Tell it from the outermost waiters inward to the root.
  for (const link of [...chain.links].reverse()) {
    const sample = proc(link.waiters[0] as number);
    lines.push(
      `${indent}waiters   ${link.waiters.length} process${link.waiters.length === 1 ? '' : 'es'} (${pidList(link.waiters)})${sample?.syscall ? ` in ${sample.syscall}` : ''}`,
    );
    const path = link.lock.path ? `${link.lock.path} ` : '';
    lines.push(
      link.inferred
        ? `${indent}  on      ${link.lock.type} kept in ${link.lock.file} (inferred: no kernel lock; see evidence)`
        : `${indent}  on      ${link.lock.type} ${link.lock.access} lock ${path}(${link.lock.file})`,
    );
    const holder = proc(link.holder);
    lines.push(`${indent}  held by pid ${link.holder} ${holder ? `(${holder.command})` : ''}`.trimEnd());
  }
  if (chain.cycle) lines.push(`${indent}cycle     ${chain.cycle.join(' -> ')} -> ${chain.cycle[0]}`);
  if (chain.threads) {
    lines.push(`${indent}threads   ${chain.threads.length} threads of pid ${chain.root} (${pidList(chain.threads)}) on the same upstream`);
  }
  const root = proc(chain.root);
  lines.push(`${indent}root      pid ${chain.root}${root ? ` ${root.command}: ${truncate(root.cmdline, 80)}` : ''}`);
  lines.push(
    `${indent}blocked   ${chain.syscall ?? 'unknown'}${threadNote(chain.root, chain.tid)}${chain.waitMs !== undefined ? `, for ${fmtMs(chain.waitMs)} (not run since)` : ''}`,
  );
  lines.push(`${indent}on        ${resourceText(chain.resource)}`);
  if (chain.resource.service || chain.resource.remote) {
    const r = chain.resource;
    lines.push(`${indent}upstream  ${r.service ? `${r.service} (${r.remote})` : r.serviceGuess ? `${r.remote} (${guessOf(r)})` : (r.remote ?? r.path)}`);
  }
  lines.push(`${indent}kind      ${chain.kind}: ${KIND_MEANING[chain.kind]}`);
  return lines;
}

function truncate(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

export function renderText(d: Diagnosis): string {
  const out: string[] = [];
  const header = `faultline diagnose: ${d.processes.length} process${d.processes.length === 1 ? '' : 'es'}, ${d.samples} sample${d.samples === 1 ? '' : 's'} over ${fmtMs(d.spanMs)} (${d.reader}, ${d.arch})`;
  out.push(header);
  if (d.culprit) {
    const c = d.culprit;
    const upstream = c.resource.service ?? (c.resource.serviceGuess ? `${c.resource.remote} (${guessOf(c.resource)})` : (c.resource.remote ?? c.resource.path));
    // "blocks" only when a lock makes the waiters wait on it; a pile-up only shares an upstream.
    const locked = c.holds.length > 0;
    const others = c.waiters.length
      ? locked
        ? ` blocks ${c.waiters.length} waiting process${c.waiters.length === 1 ? '' : 'es'}`
        : ` and ${c.waiters.length} other${c.waiters.length === 1 ? '' : 's'} wait on the same upstream (no lock between them)`
      : '';
    out.push(
      `STUCK: ${c.kind} — pid ${c.pid} (${c.command})${c.tid !== undefined && c.tid !== c.pid ? ` thread ${c.tid}` : ''}${others}${c.threads ? `: ${c.threads.length} threads stuck (${pidList(c.threads, 6)})` : ''}${c.requests !== undefined ? `: ${c.requests} request${c.requests === 1 ? '' : 's'} waiting` : ''}${upstream ? `; upstream ${upstream}` : ''}${c.waitMs !== undefined ? `; waiting ${fmtMs(c.waitMs)}` : ''}`,
    );
    const chain = d.chains.find((ch) => ch.root === c.pid && ch.culprit);
    out.push('');
    if (chain) out.push(...chainLines(d, chain, '  '));
    out.push('');
    out.push('evidence:');
    for (const e of c.evidence) out.push(`  - ${e}`);
  } else if (d.verdict === 'inconclusive' && d.inconclusive) {
    out.push('INCONCLUSIVE: what decides could not be read — neither stuck nor healthy can be said');
    out.push('');
    out.push('could not read:');
    for (const r of d.inconclusive.reasons) out.push(`  - ${r}`);
    out.push('');
    out.push('to see it:');
    for (const h of d.inconclusive.hints) out.push(`  - ${h}`);
  } else {
    out.push(`HEALTHY: no culprit — no process blocks others on a lock, and no worker has waited on an upstream past --stuck-after ${fmtMs(d.stuckAfterMs)}`);
  }
  const others = d.chains.filter((ch) => !(d.culprit && ch.root === d.culprit.pid && ch.culprit));
  if (others.length > 0) {
    out.push('');
    out.push('other chains:');
    for (const ch of others) {
      out.push(
        `  - root pid ${ch.root}: ${ch.kind}${ch.culprit ? '' : ' (not a culprit)'}, ${ch.waiters.length} waiter${ch.waiters.length === 1 ? '' : 's'}${ch.syscall ? `, ${ch.syscall}${threadNote(ch.root, ch.tid)}` : ''}`,
      );
    }
  }
  const counts = new Map<string, number>();
  for (const p of d.processes) counts.set(p.role, (counts.get(p.role) ?? 0) + 1);
  out.push('');
  out.push(`processes: ${[...counts].map(([role, n]) => `${n} ${role}`).join(', ') || 'none'}`);
  if (d.warnings.length > 0) {
    out.push('');
    out.push('warnings:');
    for (const w of d.warnings) out.push(`  - ${w}`);
  }
  return `${out.join('\n')}\n`;
}

/** The documented JSON (see README.md): verdict, culprit, chains, processes, and sampling facts. */
export function toJson(d: Diagnosis): Record<string, unknown> {
  return JSON.parse(JSON.stringify(d)) as Record<string, unknown>;
}

export function renderJson(d: Diagnosis): string {
  return `${JSON.stringify(toJson(d), null, 2)}\n`;
}
