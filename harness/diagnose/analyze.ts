/**
 * Analyse: build the wait-for graph from /proc/locks (waiter -> holder), follow each waiter to the
 * root of its chain, and classify what the root itself waits on, comparing the first and last
 * samples to tell stuck from slow. Roots outside any lock chain are culprits only when a worker has
 * waited on its upstream past `stuckAfterMs` (a pile-up of requests in flight is not a hang), or
 * when several pile up on a peer that trickles. When what decides cannot be read, the verdict is
 * inconclusive (inconclusive.ts), never healthy.
 *
 * The parts live in files named after them: the wait-for graph (wait-graph.ts), the classification
 * of one process into structured evidence (classify.ts), the prose (prose.ts), the kinds
 * (kinds.ts), and what a worker and an idle one are (worker.ts). Waits are decoded from
 * /proc/PID/syscall when the samples are collected (waits.ts).
 */
import { Classifier, type Classification } from './classify';
import { canBeCulprit, isUpstreamKind, severity } from './kinds';
import type { ChainLink, ChainReport, Collected, CulpritReport, Diagnosis, ProcessReport, ProcessRole, ProcessSample, ServiceRegistry } from './model';
import { cycleEvidence, describeWait, fmtMs, linkEvidence, permissionWarnings, socketWarnings } from './prose';
import { isDenied } from './procfs';
import { WaitGraph } from './wait-graph';
import { inferConvoys } from './convoy';
import { classifyDiskWait, diskWaitChains } from './disk-wait';
import { threadPoolChains } from './thread-pool';
import { classifyUnix, unixChains } from './unix-sockets';
import { eventLoopChains } from './event-loop';
import { whatCouldNotBeSeen } from './inconclusive';
import { isEventLoopWait, isIdle, servesClient } from './worker';

export { DRAIN_PROGRESS_BYTES } from './classify';
export { fmtMs } from './prose';
export { endpointText, serviceFor } from './services';
import { addServiceGuess } from './services';

export interface AnalyzeOptions {
  registry?: ServiceRegistry;
  /**
   * Processes outside any lock chain waiting on an upstream (alone or piled up) are named culprit
   * only when one has not run for this long (from /proc/PID/sched); shorter waits are ordinary
   * requests in flight.
   */
  stuckAfterMs?: number;
}

/**
 * 5 s: far past an ordinary slow query or API call (hundreds of ms), and reached by the library's
 * scenarios, which diagnose ~8 s into the fault.
 */
export const DEFAULT_STUCK_AFTER_MS = 5_000;

export function analyze(collected: Collected, options: AnalyzeOptions = {}): Diagnosis {
  return new Analysis(collected, options).run();
}

class Analysis {
  private readonly last: Collected['samples'][number];
  private readonly spanMs: number;
  private readonly stuckAfterMs: number;
  private readonly graph: WaitGraph;
  private readonly classifier: Classifier;
  private readonly registry: ServiceRegistry | undefined;

  constructor(
    private readonly collected: Collected,
    options: AnalyzeOptions,
  ) {
    this.registry = options.registry;
    const samples = collected.samples;
    if (samples.length === 0) throw new Error('analyze needs at least one sample');
    const first = samples[0] as Collected['samples'][number];
    this.last = samples[samples.length - 1] as Collected['samples'][number];
    this.spanMs = Math.round(this.last.takenAtMs - first.takenAtMs);
    this.stuckAfterMs = options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS;
    this.graph = new WaitGraph(this.last);
    this.classifier = new Classifier(collected, this.graph, options.registry, this.spanMs);
  }

  run(): Diagnosis {
    const lockChains = this.lockChains();
    const convoys = inferConvoys(this.collected, this.classifier, this.registry, this.graph.members(), this.stuckAfterMs);
    // --- diag-rules: rules beyond pre-forked pools, each in its own file ---
    const disk = diskWaitChains(this.collected, new Set([...this.graph.members(), ...convoys.used]), this.stuckAfterMs, this.spanMs);
    const pools = threadPoolChains(this.collected, this.graph, this.registry, this.spanMs, this.stuckAfterMs, new Set([...this.graph.members(), ...convoys.used, ...disk.used]));
    const unix = unixChains(this.collected, new Set([...this.graph.members(), ...convoys.used, ...disk.used, ...pools.used]), this.stuckAfterMs, this.spanMs);
    const loops = eventLoopChains(this.collected, this.classifier, this.registry, this.stuckAfterMs, new Set([...this.graph.members(), ...convoys.used]));
    const ruled = new Set([...convoys.used, ...disk.used, ...pools.used, ...unix.used, ...loops.used]);
    const chains = [...lockChains, ...convoys.chains, ...disk.chains, ...pools.chains, ...unix.chains, ...loops.chains, ...this.upstreamChains(ruled)];
    // --- end diag-rules ---
    // Every chain's root carries its wait age, whichever rule built the chain.
    for (const chain of chains) {
      const age = this.last.processes.get(chain.root)?.notRunForMs;
      if (chain.waitMs === undefined && age !== undefined) chain.waitMs = age;
    }
    chains.sort(
      (a, b) =>
        Number(b.culprit) - Number(a.culprit) ||
        b.waiters.length - a.waiters.length ||
        severity(a.kind) - severity(b.kind) ||
        a.root - b.root,
    );
    // --- diag-rules: well-known ports as guesses (services.ts) ---
    for (const chain of chains) addServiceGuess(chain.resource, chain.evidence);
    // --- end diag-rules ---
    const top = chains.find((c) => c.culprit);
    let culprit = top ? this.culpritReport(top) : null;
    const blind = whatCouldNotBeSeen(this.collected, this.last, (p) => this.matters(p));
    for (const r of this.undecided) blind.reasons.push(r);
    // Syscalls not decoded: even a lock chain's root is a guess (its kind, whether it progresses).
    const undecodable = this.collected.arch === 'unknown';
    if (undecodable && top) {
      blind.reasons.push(`/proc/locks shows pid ${top.root} holding a lock ${top.waiters.length} process${top.waiters.length === 1 ? '' : 'es'} wait for; what it waits on cannot be decoded`);
    }
    const inconclusive = (!culprit || undecodable) && blind.reasons.length > 0;
    if (inconclusive) culprit = null;
    return {
      verdict: culprit ? 'stuck' : inconclusive ? 'inconclusive' : 'healthy',
      ...(inconclusive ? { inconclusive: blind } : {}),
      stuckAfterMs: this.stuckAfterMs,
      culprit,
      chains,
      processes: this.processReports(chains, culprit),
      samples: this.collected.samples.length,
      spanMs: this.spanMs,
      reader: this.collected.reader,
      arch: this.collected.arch === 'unknown' ? this.collected.archName || 'unknown' : this.collected.arch,
      warnings: [...this.collected.warnings, ...permissionWarnings(this.last), ...socketWarnings(this.last)],
    };
  }

  /** Reasons the upstream rules could not decide (wait ages unreadable), for the verdict. */
  private readonly undecided: string[] = [];

  /**
   * Whether a process's unreadable facts could change the verdict: not when it is a lock waiter
   * (/proc/locks says what it waits for) or provably idle (accept, or listeners only, read from
   * its syscall and memory rather than guessed).
   */
  private matters(p: ProcessSample): boolean {
    if (this.graph.edges.has(p.pid)) return false;
    if (p.wait.type === 'io' && p.wait.source !== 'sockets-fallback' && isIdle(p)) return false;
    return true;
  }

  // --- lock chains -----------------------------------------------------------------------------

  private lockChains(): ChainReport[] {
    const chains: ChainReport[] = [];
    for (const group of this.graph.groups()) {
      group.members.delete(group.root);
      const waiters = [...group.members].sort((a, b) => a - b);
      const links = this.graph.linksFrom(group.root);
      if (group.cycle) {
        chains.push(this.cycleChain(group.root, group.cycle, waiters, links));
        continue;
      }
      // diag-rules: a holder stuck in D state is a disk-wait (disk-wait.ts).
      const c =
        classifyDiskWait(this.collected, group.root, true, this.spanMs) ??
        classifyUnix(this.collected, group.root, true, this.spanMs) ??
        this.classifier.classify(group.root, true);
      chains.push({
        root: group.root,
        kind: c.kind,
        culprit: canBeCulprit(c.kind),
        waiters,
        links,
        resource: c.resource,
        syscall: c.syscall,
        tid: c.tid,
        waitMs: this.last.processes.get(group.root)?.notRunForMs,
        evidence: [...links.map((l) => linkEvidence(this.graph, l)), ...c.evidence],
      });
    }
    return chains;
  }

  private cycleChain(root: number, cycle: number[], waiters: number[], links: ChainLink[]): ChainReport {
    const firstEdge = this.graph.edges.get(root);
    const lock = firstEdge ? this.graph.lockReport(firstEdge.entry, firstEdge.holder) : undefined;
    const proc = this.last.processes.get(root);
    return {
      root,
      kind: 'lock-cycle',
      culprit: true,
      waiters,
      links,
      cycle,
      resource: { type: 'lock', path: lock?.path, fd: proc?.wait.type === 'lock' ? proc.wait.fd : undefined },
      syscall: proc?.syscallText ?? null,
      tid: proc?.tid,
      waitMs: proc?.notRunForMs,
      evidence: [cycleEvidence(this.graph, cycle)],
    };
  }

  // --- roots outside lock chains ---------------------------------------------------------------

  private upstreamChains(inConvoys: ReadonlySet<number>): ChainReport[] {
    const inChains = new Set([...this.graph.members(), ...inConvoys]);
    const byUpstream = new Map<string, Array<{ pid: number; c: Classification }>>();
    for (const p of this.last.processes.values()) {
      const pid = p.pid;
      // An event loop (nginx) multiplexes many requests: never a worker stuck on one upstream.
      if (inChains.has(pid) || isEventLoopWait(p.wait, p.fds)) continue;
      const c = this.classifier.classify(pid, false);
      if (!c.upstream || !c.persistent) continue;
      if (!isUpstreamKind(c.kind)) continue;
      // An event loop's pooled connection whose last receive came after its last send has no
      // request outstanding (a keep-alive connection at rest): nothing waits on it. Not for a
      // trickle, whose bytes arrive after the request while the answer is still incomplete.
      if (c.kind === 'silent-peer' && c.awaitsReply === false) continue;
      // A silent wait that times out by itself soon is a bounded wait, not a hang (the fixed
      // code's per-read timeouts look like this). A trickle is different: each chunk restarts
      // the timeout, so slow-peer counts whatever the timeout.
      if (c.kind !== 'slow-peer' && c.timeoutMs !== undefined && c.timeoutMs >= 0 && c.timeoutMs < this.stuckAfterMs) continue;
      const list = byUpstream.get(c.upstream) ?? [];
      list.push({ pid, c });
      byUpstream.set(c.upstream, list);
    }
    const chains: ChainReport[] = [];
    for (const [upstream, all] of byUpstream) {
      all.sort((a, b) => a.pid - b.pid);
      // Workers whose request is younger than stuck-after are in flight whatever the others do.
      // When some are past it the chain is theirs: a worker stuck on its own connection to an
      // upstream that answers the others in time (a lost FIN, a lost answer) is still stuck.
      // Workers whose age is unreadable stay (a trickle without sock_diag counts by its pile-up).
      const young = (x: (typeof all)[number]): boolean => x.c.requestAgeMs !== undefined && x.c.requestAgeMs < this.stuckAfterMs;
      const list = all.some((x) => x.c.requestAgeMs !== undefined && !young(x)) ? all.filter((x) => !young(x)) : all;
      const inFlight = all.length - list.length;
      // An upstream that moves bytes for any of its workers is alive: slow, not dead. Workers that
      // happened not to wake between two samples do not make it an unreachable or silent peer.
      // Otherwise the upstream's signature is the worst one among the workers stuck on it.
      const moving = list.find((x) => x.c.kind === 'slow-peer');
      const head = moving ?? (list[0] as { pid: number; c: Classification });
      const kind = moving ? 'slow-peer' : ([...list].sort((a, b) => severity(a.c.kind) - severity(b.c.kind))[0]?.c.kind ?? head.c.kind);
      const others = list.filter((x) => x !== head).map((x) => x.pid);
      const pileUp = list.length >= 2;
      // The age that decides is how long each request has been outstanding (classify.ts,
      // requestAge): a worker that loops on short waits sends anew each time and is never old.
      const ages = list.map((x) => x.c.requestAgeMs);
      const known = ages.filter((a): a is number => a !== undefined);
      const oldest = known.length > 0 ? Math.max(...known) : undefined;
      const oldestFrom = list.find((x) => x.c.requestAgeMs === oldest)?.c.requestAgeFrom;
      // A trickle wakes its worker per chunk, so without sock_diag (no time since our last send)
      // its age is unreadable: then a slow peer counts by workers held in the same socket wait,
      // bytes moving, in every sample.
      const outstanding = kind === 'slow-peer' && known.length === 0 ? pileUp : oldest !== undefined && oldest >= this.stuckAfterMs;
      // Bytes arriving for a process nobody waits on is a stream (a subscription, a tail, a
      // download): it progresses. Only a trickle someone waits for (a client, a lock) is a hang.
      const stream = kind === 'slow-peer' && list.every((x) => servesClient(this.last.processes.get(x.pid), (p, t) => this.classifier.isInbound(p, t)) === false);
      const stuck = outstanding && !stream;
      const service = head.c.resource.service;
      const where = service ? `${service} (${upstream})` : upstream;
      if (!stuck && kind !== 'slow-peer' && known.length < ages.length) {
        this.undecided.push(`how long the ${list.length} worker${pileUp ? 's' : ''} waiting on ${where} have waited is unreadable (/proc/PID/sched): stuck or in flight cannot be told`);
      }
      const youngest = known.length > 0 ? Math.min(...known) : undefined;
      const agesText =
        oldest === undefined ? '' : ` (waited ${youngest === oldest ? fmtMs(oldest) : `${fmtMs(youngest as number)} to ${fmtMs(oldest)}`})`;
      chains.push({
        root: head.pid,
        kind,
        culprit: stuck,
        waiters: others,
        links: [],
        resource: head.c.resource,
        syscall: head.c.syscall,
        tid: head.c.tid,
        waitMs: head.c.requestAgeMs ?? this.last.processes.get(head.pid)?.notRunForMs,
        evidence: [
          (pileUp
            ? `${list.length} workers wait on the same upstream ${where}: pids ${list.map((x) => x.pid).join(', ')}`
            : `one worker waits on upstream ${where}`) +
            (oldest === undefined
              ? ''
              : stuck
                ? oldestFrom === 'sent'
                  ? `; the oldest request was sent ${fmtMs(oldest)} ago, still unanswered (>= --stuck-after ${fmtMs(this.stuckAfterMs)})`
                  : oldestFrom === 'connected'
                    ? `; the oldest request is still being written on a connection opened ${fmtMs(oldest)} ago, nothing received on it (>= --stuck-after ${fmtMs(this.stuckAfterMs)})`
                  : `; the longest has not run for ${fmtMs(oldest)} (>= --stuck-after ${fmtMs(this.stuckAfterMs)})`
                : `${agesText}: under --stuck-after ${fmtMs(this.stuckAfterMs)}, requests in flight, not stuck`),
          ...(outstanding && stream
            ? [`but nothing waits on ${pileUp ? 'them' : 'it'} (no accepted client connection, no lock anyone queues on) and bytes keep arriving: a stream, not a hung request`]
            : []),
          ...(inFlight > 0
            ? [`${inFlight} other worker${inFlight === 1 ? '' : 's'} on ${where} sent ${inFlight === 1 ? 'its' : 'their'} request under --stuck-after ${fmtMs(this.stuckAfterMs)} ago: in flight, not counted`]
            : []),
          ...head.c.evidence,
        ],
      });
    }
    return chains;
  }

  // --- reports -----------------------------------------------------------------------------------

  private culpritReport(chain: ChainReport): CulpritReport {
    const p = this.last.processes.get(chain.root);
    const holds = chain.links.filter((l) => l.holder === chain.root).map((l) => l.lock);
    return {
      pid: chain.root,
      command: p?.command ?? '?',
      cmdline: p?.cmdline ?? '',
      kind: canBeCulprit(chain.kind) ? chain.kind : 'unknown',
      syscall: chain.syscall,
      tid: chain.tid,
      resource: chain.resource,
      holds,
      waiters: chain.waiters,
      ...(chain.threads ? { threads: chain.threads } : {}),
      ...(chain.requests !== undefined ? { requests: chain.requests } : {}),
      ...(chain.waitMs !== undefined ? { waitMs: chain.waitMs } : {}),
      evidence: chain.evidence,
    };
  }

  private processReports(chains: ChainReport[], culprit: CulpritReport | null): ProcessReport[] {
    const holders = this.graph.holders();
    // Waiters of an inferred convoy (a lock kept in another service) are waiters too.
    const inferredWaiters = new Set(chains.flatMap((c) => c.links.filter((l) => l.inferred).flatMap((l) => l.waiters)));
    const idle = new Set(chains.filter((c) => c.kind === 'idle').map((c) => c.root));
    const out: ProcessReport[] = [];
    for (const p of [...this.last.processes.values()].sort((a, b) => a.pid - b.pid)) {
      let role: ProcessRole = 'other';
      if (culprit?.pid === p.pid) role = 'culprit';
      else if (holders.has(p.pid)) role = 'holder';
      else if (this.graph.edges.has(p.pid) || this.graph.orphanWaits.has(p.pid) || inferredWaiters.has(p.pid)) role = 'waiter';
      else if (idle.has(p.pid) || isIdle(p)) role = 'idle';
      const report: ProcessReport = {
        pid: p.pid,
        command: p.command,
        cmdline: p.cmdline,
        state: p.state,
        syscall: p.syscallText ?? null,
        tid: p.tid,
        wait: describeWait(p, this.graph),
        role,
      };
      if (p.notRunForMs !== undefined && p.wait.type !== 'running') report.waitMs = p.notRunForMs;
      if (p.unreadable.length > 0) {
        report.unreadable = p.unreadable.map((u) => `${u.file}: ${u.error}${isDenied(u.error) ? ' (needs CAP_SYS_PTRACE)' : ''}`);
      }
      out.push(report);
    }
    return out;
  }
}
