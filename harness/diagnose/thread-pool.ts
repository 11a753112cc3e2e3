/**
 * Rule: thread pools. In a Java servlet pool, a Python ThreadPoolExecutor or ThreadingHTTPServer, a
 * gunicorn `gthread` worker, the workers are threads of one process: the process rule (one wait per
 * process, the thread that explains it best) sees one stuck thread and a healthy process. Here each
 * thread of a multi-threaded process is classified on its own, exactly as a process would be (the
 * same Classifier, on a view of the samples in which the process shows that thread), and threads
 * stuck on the same upstream (same remote, outbound socket, no progress) are grouped.
 *
 * A process is claimed by this rule only when two or more of its threads wait on one upstream; a
 * process with one such thread stays with the process rule (so pre-forked workers with a helper
 * thread still pile up across processes). The group is a culprit when its oldest thread has not run
 * for `stuckAfterMs` (a thread blocked that long on a socket is no query in flight). Threads that wake
 * with data (slow-peer) are grouped but not named a culprit: from wake-ups alone a trickle cannot be
 * told from a stream of short queries answered in time (measured: a pool running 200 ms queries in a
 * loop shows exactly that), and the evidence says so. Threads idle
 * in accept/epoll/futex on the pool's queue are counted and named in the evidence, never grouped.
 */
import { Classifier, type Classification } from './classify';
import { isUpstreamKind, severity } from './kinds';
import type { ChainReport, Collected, ProcessSample, Sample, ServiceRegistry, ThreadSample } from './model';
import { fmtMs } from './prose';
import { taskFacts } from './threads';
import type { WaitGraph } from './wait-graph';
import { isEventLoopWait, isIdleWait } from './worker';

/** A copy of the process that shows thread `tid`'s wait (what pickThreads does for the best one). */
function asThread(p: ProcessSample | undefined, tid: number): ProcessSample | undefined {
  const t = p?.tasks?.find((x) => x.tid === tid);
  if (!p || !t) return undefined;
  return {
    ...p,
    ...taskFacts(t),
    tid,
    threadComm: t.comm !== p.command ? t.comm : undefined,
    // The thread's own io is not in the task's files we read: a process-wide rchar/wchar rise says
    // nothing about this thread, so it is left out (wake-ups and queues still tell progress).
    io: undefined,
  };
}

/** The samples with pid shown as thread tid (only that process: the classifier asks for no other). */
function threadView(collected: Collected, pid: number, tid: number): Collected {
  return {
    ...collected,
    samples: collected.samples.map((s): Sample => {
      const view = asThread(s.processes.get(pid), tid);
      return { ...s, processes: new Map(view ? [[pid, view]] : []) };
    }),
  };
}

/** What a thread not stuck on an upstream is doing, for the evidence. */
function idleKind(t: ThreadSample, fds: ProcessSample['fds']): string {
  if (t.wait.type === 'io' && isIdleWait(t.wait, fds)) return 'accept';
  if (t.wait.type === 'io' && isEventLoopWait(t.wait, fds)) return 'event loop';
  if (t.wait.type === 'io') return t.wait.syscall;
  if (t.wait.type === 'running') return 'running';
  return t.syscallName ?? t.wait.type;
}

export interface ThreadPoolChains {
  chains: ChainReport[];
  /** Processes the rule accounts for: not grouped again by the process rule. */
  used: Set<number>;
}

export function threadPoolChains(
  collected: Collected,
  graph: WaitGraph,
  registry: ServiceRegistry | undefined,
  spanMs: number,
  stuckAfterMs: number,
  exclude: ReadonlySet<number>,
): ThreadPoolChains {
  const last = collected.samples[collected.samples.length - 1] as Sample;
  const chains: ChainReport[] = [];
  const used = new Set<number>();
  for (const p of last.processes.values()) {
    const tasks = p.tasks;
    if (!tasks || tasks.length < 2 || exclude.has(p.pid)) continue;
    const byUpstream = new Map<string, Array<{ t: ThreadSample; c: Classification }>>();
    for (const t of tasks) {
      if (t.wait.type !== 'io' || isIdleWait(t.wait, p.fds) || isEventLoopWait(t.wait, p.fds)) continue;
      const c = new Classifier(threadView(collected, p.pid, t.tid), graph, registry, spanMs).classify(p.pid, false);
      if (!c.upstream || !c.persistent || !isUpstreamKind(c.kind)) continue;
      if (c.kind === 'silent-peer' && c.awaitsReply === false) continue;
      // A wait that times out by itself before stuck-after is bounded (a per-read timeout).
      if (c.kind !== 'slow-peer' && c.timeoutMs !== undefined && c.timeoutMs >= 0 && c.timeoutMs < stuckAfterMs) continue;
      byUpstream.set(c.upstream, [...(byUpstream.get(c.upstream) ?? []), { t, c }]);
    }
    // A connection to one of the process's own listeners waits on its own threads, not on an
    // upstream (a client thread of ours, or a self-call): the chain continues inside the process.
    const ownListeners = new Set(
      (p.fds ?? []).filter((f) => f.tcp?.state === 'LISTEN').map((f) => f.tcp!.local.port),
    );
    const toSelf = (list: Array<{ c: Classification }>): boolean => {
      const remote = list[0]?.c.resource.remote;
      const port = Number(/:([0-9]+)$/.exec(remote ?? '')?.[1]);
      return ownListeners.has(port) && /^(\[?::ffff:)?127\.|^\[?::1\]?:/.test(remote ?? '');
    };
    const piles = [...byUpstream].filter(([, list]) => list.length >= 2 && !toSelf(list));
    if (piles.length === 0) continue;
    used.add(p.pid);
    const grouped = new Set(piles.flatMap(([, list]) => list.map((x) => x.t.tid)));
    const rest = new Map<string, number>();
    for (const t of tasks) if (!grouped.has(t.tid)) rest.set(idleKind(t, p.fds), (rest.get(idleKind(t, p.fds)) ?? 0) + 1);
    const restText = [...rest].map(([what, n]) => `${n} in ${what}`).join(', ');
    for (const [upstream, list] of piles) {
      // The oldest thread heads the group; a moving one (slow-peer) names the kind, as for processes.
      list.sort((a, b) => (b.t.notRunForMs ?? 0) - (a.t.notRunForMs ?? 0) || a.t.tid - b.t.tid);
      const moving = list.find((x) => x.c.kind === 'slow-peer');
      const head = moving ?? (list[0] as (typeof list)[number]);
      const kind = moving ? 'slow-peer' : ([...list].sort((a, b) => severity(a.c.kind) - severity(b.c.kind))[0]?.c.kind ?? head.c.kind);
      // How long the oldest thread's request has been outstanding (classify.ts, requestAge): a
      // thread looping on short waits sends anew each time.
      const known = list.map((x) => x.c.requestAgeMs).filter((a): a is number => a !== undefined);
      const age = known.length > 0 ? Math.max(...known) : undefined;
      const old = age !== undefined && age >= stuckAfterMs;
      const culprit = !moving && old;
      const service = head.c.resource.service;
      const tids = list.map((x) => x.t.tid).sort((a, b) => a - b);
      const comm = [...new Set(list.map((x) => x.t.comm))].filter((c) => c !== p.command);
      chains.push({
        root: p.pid,
        kind,
        culprit,
        waiters: [],
        threads: tids,
        links: [],
        resource: head.c.resource,
        syscall: head.c.syscall,
        tid: head.t.tid,
        // The head thread's own age (the process's stat shows another thread's).
        ...(head.t.notRunForMs !== undefined ? { waitMs: head.t.notRunForMs } : {}),
        evidence: [
          `${list.length} of ${tasks.length} threads of pid ${p.pid} (${p.command}) wait on the same upstream ${service ? `${service} (${upstream})` : upstream}: threads ${tids.join(', ')}` +
            (comm.length > 0 ? ` (${comm.slice(0, 3).join(', ')}${comm.length > 3 ? ' …' : ''})` : '') +
            (moving
              ? '; answers arrive (the threads wake with data): a trickle cannot be told from a stream of short queries by wake-ups alone, so not named a culprit'
              : age === undefined
                ? '; wait age unknown (sched unreadable): not named a culprit'
                : old
                  ? `; the oldest has waited ${fmtMs(age)} (>= --stuck-after ${fmtMs(stuckAfterMs)})`
                  : `; the oldest has waited ${fmtMs(age)} (< --stuck-after ${fmtMs(stuckAfterMs)}): queries in flight, not yet a hang`),
          ...(restText ? [`the other threads: ${restText}`] : []),
          ...head.c.evidence,
        ],
      });
    }
  }
  return { chains, used };
}
