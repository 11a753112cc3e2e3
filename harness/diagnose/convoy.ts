/**
 * Convoys behind a lock the kernel does not know: the lock lives in another service. phpredis'
 * session lock is a Redis key: a waiter loops `SET <id>_LOCK <secret> NX [PX ms]`, and on a miss
 * sleeps `usleep(lock_wait_time)` and retries, `lock_retries` times (-1: forever). Read in
 * phpredis' redis_session.c, lock_acquire() (github.com/phpredis/phpredis, develop at 0fe45d24):
 * defaults lock_wait_time 20000 µs when 0 and lock_retries 100 (INI defaults in redis.c: "20000",
 * "100"; Debian bookworm's 5.3.7 prints 2000 and 10). lock_release() deletes the key through
 * EVALSHA/EVAL only if it still holds the holder's secret. Nothing of it reaches /proc/locks.
 *
 * So the link is inferred, and only on evidence (an invented chain naming healthy workers is worse
 * than none): one worker blocked without progress on a socket to some upstream (a database, an API)
 * while it keeps a connection to a lock service, and workers of the same program that show a
 * polling loop on their own connection to that same service:
 * - a repeated short wait: in some sample a sleep (nanosleep/clock_nanosleep: usleep) or a poll
 *   with a timeout of at most SHORT_POLL_MS, and in every other sample that, running, or a wait on
 *   the lock peer's socket itself (the SET in flight), never a wait on another peer (a worker that
 *   talks to its database between cache calls is serving requests, not polling a lock). With two
 *   samples a poller caught twice between sleeps shows no sleep, and is not linked: more samples
 *   (`--samples 4`) see more;
 * - cycles: context switches rose by at least MIN_CYCLES between the first and the last sample
 *   (with `redis.session.lock_wait_time` visible on a command line, the evidence also gives the
 *   rise that interval predicts: about span / lock_wait_time).
 * A busy worker (running, or reading its cache without a timeout) is no waiter.
 *
 * The lock is named `redis-session-lock` only when the protocol is known: phpredis session locking
 * visible on a command line (`redis.session.locking_enabled=1`), or PHP workers sleeping between
 * tries on a peer the registry names redis. Otherwise it is a `polled-lock` in that service.
 *
 * A second inference, `waits-inside`: workers piled up on one service (a database) because of what
 * another worker holds *inside* it (a row lock, a transaction) while that one is stuck elsewhere (an
 * HTTP API). The database is not the culprit: the chain continues at the worker that keeps an idle
 * connection to the same database while blocked on the other upstream. See inferWaitsInside.
 */
import type { Classification, Classifier } from './classify';
import { isUpstreamKind } from './kinds';
import type { ChainLink, ChainReport, Collected, ProcessSample, ServiceRegistry, Wait } from './model';
import type { Endpoint } from './parse';
import { fmtMs } from './prose';
import { endpointText, serviceFor, upstreamText } from './services';
import { isEventLoopWait, isIdle } from './worker';

/** A poll timeout at most this long, repeated, is a retry loop's (phpredis sleeps 20 ms by default). */
export const SHORT_POLL_MS = 1000;
/** Context switches a poller must show between the first and the last sample: several tries, not one wake-up. */
export const MIN_CYCLES = 3;

interface Cycler {
  pid: number;
  woke: number;
  doing: string;
  peers: Map<string, Endpoint>;
  /** The peers its socket waits were on, in any sample (a poller's: only the lock service). */
  ioPeers: Set<string>;
  /** True when every short wait seen was a sleep (usleep between tries). */
  sleeps: boolean;
}

export interface InferredConvoys {
  chains: ChainReport[];
  /** Every pid a convoy accounts for (roots and waiters): not grouped again as an upstream pile-up. */
  used: Set<number>;
}

export function inferConvoys(
  collected: Collected,
  classifier: Classifier,
  registry: ServiceRegistry | undefined,
  exclude: ReadonlySet<number>,
  /** For the waits-inside inference: a pile-up is a culprit only once someone waited this long. */
  stuckAfterMs = 10_000,
): InferredConvoys {
  const samples = collected.samples;
  const first = samples[0];
  const last = samples[samples.length - 1];
  const none = { chains: [], used: new Set<number>() };
  if (!first || !last || samples.length < 2) return none; // cycling needs two samples

  const outboundPeers = (p: ProcessSample): Map<string, Endpoint> => {
    const out = new Map<string, Endpoint>();
    for (const fd of p.fds ?? []) {
      if (fd.tcp?.state === 'ESTABLISHED' && !classifier.isInbound(p, fd.tcp)) out.set(endpointText(fd.tcp.remote), fd.tcp.remote);
    }
    return out;
  };

  const holders: Array<{ p: ProcessSample; c: Classification }> = [];
  const cyclers: Cycler[] = [];
  for (const p of last.processes.values()) {
    if (exclude.has(p.pid) || isIdle(p) || isEventLoopWait(p.wait, p.fds)) continue;
    const c = classifier.classify(p.pid, false);
    // A convoy's holder waits on an upstream (a holder that sleeps or spins is a lock chain's). A
    // slow peer counts: a worker reading a trickle holds the lock as long as a stuck one, since
    // each chunk restarts its per-operation timeout (curl without CURLOPT_TIMEOUT, a PHP stream).
    if (c.persistent && c.upstream && isUpstreamKind(c.kind)) {
      holders.push({ p, c });
      continue;
    }
    const cycler = pollingLoop(collected, p, outboundPeers);
    if (cycler) cyclers.push(cycler);
  }
  if (holders.length === 0) return none;

  // Each holder's best lock service: the peer (other than the one it is stuck on) that the most
  // cycling workers of the same program share with it.
  const candidates = holders
    .map(({ p, c }) => {
      let best: { key: string; peer: Endpoint; waiters: Cycler[] } | undefined;
      for (const [key, peer] of outboundPeers(p)) {
        if (key === c.upstream) continue;
        const waiters = cyclers.filter(
          (x) => x.peers.has(key) && [...x.ioPeers].every((k) => k === key) && last.processes.get(x.pid)?.command === p.command,
        );
        if (waiters.length > 0 && (!best || waiters.length > best.waiters.length)) best = { key, peer, waiters };
      }
      return best ? { p, c, ...best } : undefined;
    })
    .filter((x): x is NonNullable<typeof x> => x !== undefined)
    // The one blocked longest explains the convoy best; a tie goes to the lower pid.
    .sort((a, b) => b.waiters.length - a.waiters.length || (b.p.notRunForMs ?? 0) - (a.p.notRunForMs ?? 0) || a.p.pid - b.p.pid);

  const used = new Set<number>();
  const chains: ChainReport[] = [];
  for (const cand of candidates) {
    if (used.has(cand.p.pid)) continue;
    const waiters = cand.waiters.filter((x) => !used.has(x.pid));
    if (waiters.length === 0) continue;
    const others = candidates.filter((o) => o !== cand && o.key === cand.key && !used.has(o.p.pid)).map((o) => o.p.pid);
    const service = serviceFor(registry, cand.peer);
    const lockService = service ?? cand.key;
    const lockName = lockProtocol(collected, cand.p, waiters, service);
    const redis = lockName.known;
    const upstreamName = cand.c.resource.service ? `${cand.c.resource.service} (${cand.c.upstream})` : cand.c.upstream;
    const span = fmtMs(Math.round(last.takenAtMs - first.takenAtMs));
    const woke = waiters.map((x) => x.woke);
    const doing = [...new Set(waiters.map((x) => x.doing))].join(', ');
    const how =
      `no kernel lock ties them (nothing in /proc/locks): pid ${cand.p.pid} ${cand.c.kind === 'slow-peer' ? 'reads a trickle from' : 'is blocked without progress on'} ${upstreamName} ` +
      `while it keeps a connection to ${lockService}; ${waiters.length} ${cand.p.command} worker${waiters.length === 1 ? '' : 's'} ` +
      `(${waiters.map((x) => x.pid).join(', ')}) cycle over their own connections to ${lockService}: context switches rose by ` +
      `${Math.min(...woke) === Math.max(...woke) ? Math.min(...woke) : `${Math.min(...woke)}-${Math.max(...woke)}`} in ${span}` +
      (lockName.expectedWakeups !== undefined ? ` (about ${lockName.expectedWakeups} expected at lock_wait_time ${lockName.waitUs} µs)` : '') +
      `, a repeated short wait (${doing}) and no wait on any other peer` +
      (redis
        ? `: polling for a lock kept in ${lockService} (phpredis session locking: SET NX, usleep, retry; ${lockName.why})`
        : `: polling for a lock kept in ${lockService} (protocol unknown: ${lockName.why})`) +
      (others.length > 0 ? `; pids ${others.join(', ')} are blocked the same way and may hold other keys` : '');
    const link: ChainLink = {
      lock: { type: redis ? 'redis-session-lock' : 'polled-lock', access: 'polled', file: lockService },
      holder: cand.p.pid,
      waiters: waiters.map((x) => x.pid).sort((a, b) => a - b),
      inferred: how,
    };
    used.add(cand.p.pid);
    for (const x of waiters) used.add(x.pid);
    chains.push({
      root: cand.p.pid,
      kind: cand.c.kind,
      culprit: true,
      waiters: link.waiters,
      links: [link],
      resource: cand.c.resource,
      syscall: cand.c.syscall,
      tid: cand.c.tid,
      evidence: [`inferred convoy on ${link.lock.type} in ${lockService}: ${how}`, ...cand.c.evidence],
    });
  }
  const inside = inferWaitsInside(holders.filter((h) => !used.has(h.p.pid)), registry, outboundPeers, stuckAfterMs);
  for (const pid of inside.used) used.add(pid);
  return { chains: [...chains, ...inside.chains], used };
}

/** The short waits a polling loop shows: a sleep, or a poll with a short timeout. */
function shortWait(w: Wait): string | undefined {
  if (w.type === 'sleep') return `sleeps in ${w.syscall}`;
  if (w.type === 'io' && w.timeoutMs !== undefined && w.timeoutMs >= 0 && w.timeoutMs <= SHORT_POLL_MS) return `polls with a ${w.timeoutMs} ms timeout`;
  return undefined;
}

/** A process's polling loop across the samples (see the file comment), or undefined. */
function pollingLoop(collected: Collected, p: ProcessSample, outboundPeers: (p: ProcessSample) => Map<string, Endpoint>): Cycler | undefined {
  const history = collected.samples.map((s) => s.processes.get(p.pid));
  if (history.some((h) => !h || h.tid !== p.tid)) return undefined;
  const ctxt = (x: ProcessSample): number | undefined => (x.voluntaryCtxt === undefined ? undefined : x.voluntaryCtxt + (x.nonvoluntaryCtxt ?? 0));
  const now = ctxt(p);
  const then = ctxt(history[0] as ProcessSample);
  if (now === undefined || then === undefined || now - then < MIN_CYCLES) return undefined;
  const short: string[] = [];
  const ioPeers = new Set<string>();
  for (const h of history as ProcessSample[]) {
    const w = shortWait(h.wait);
    if (w) {
      short.push(w);
      continue;
    }
    // Between tries a poller runs (the interpreter builds the next request): neither for nor against.
    if (h.wait.type === 'running' || (h.state === 'R' && h.wait.type !== 'io')) continue;
    // Otherwise it must be a socket wait (the try itself): whose peer is checked against the lock service.
    if (h.wait.type !== 'io') return undefined;
    for (const t of h.wait.targets) {
      const tcp = h.fds?.find((f) => f.fd === t.fd)?.tcp;
      if (!tcp) return undefined;
      ioPeers.add(endpointText(tcp.remote));
    }
  }
  if (short.length === 0) return undefined;
  return {
    pid: p.pid,
    woke: now - then,
    doing: [...new Set(short)].join(', '),
    peers: outboundPeers(p),
    ioPeers,
    sleeps: short.every((x) => x.startsWith('sleeps')),
  };
}

/** Whether the lock's protocol is known (phpredis session locking), and why or why not. */
function lockProtocol(
  collected: Collected,
  holder: ProcessSample,
  waiters: Cycler[],
  service: string | undefined,
): { known: boolean; why: string; waitUs?: number; expectedWakeups?: number } {
  const last = collected.samples[collected.samples.length - 1];
  const cmdlines = [holder, ...waiters.map((w) => last?.processes.get(w.pid))].map((x) => x?.cmdline ?? '');
  const visible = cmdlines.find((c) => /redis\.session\.locking_enabled=(1|on|true)\b/i.test(c));
  const waitUs = Number(/redis\.session\.lock_wait_time=([0-9]{1,9})\b/.exec(visible ?? '')?.[1]) || undefined;
  const first = collected.samples[0];
  const spanMs = last && first ? last.takenAtMs - first.takenAtMs : 0;
  const expectedWakeups = waitUs ? Math.round((spanMs * 1000) / waitUs) : undefined;
  if (visible) return { known: true, why: 'redis.session.locking_enabled=1 on the command line', waitUs, expectedWakeups };
  const php = /^php/.test(holder.command);
  const byName = service?.toLowerCase().includes('redis') ?? false;
  if (php && byName && waiters.every((w) => w.sleeps)) return { known: true, why: 'PHP workers sleeping between tries on a peer named redis' };
  return {
    known: false,
    why: !byName ? 'the peer is not named redis (give --service)' : !php ? 'the workers are not PHP' : 'the waiters do not sleep between tries',
  };
}

/**
 * The holder takes the lock before the others queue, but blocks on its own upstream only after the
 * lock's answer and its request went out: it can have been asleep a little less long than the
 * youngest waiter. Without this slack the corpus' db-rowlock-api case named a waiter on the
 * database, one run in three (10 of 10 right with it).
 */
const HOLDER_LAG_MS = 500;

/**
 * `waits-inside`: two or more workers of one program stuck without progress on the same upstream D
 * (a database that does not answer them because of a lock held inside it), and one worker of the
 * same program stuck on another upstream A while it keeps an ESTABLISHED connection to D that it
 * does not wait on (its transaction is open there). That worker is the root; the workers on D are
 * its waiters through an inferred link, and the evidence says the chain continues inside D rather
 * than blaming D. When the ages are known, the root must have waited at least as long as the
 * youngest waiter, less HOLDER_LAG_MS (it took the lock before they queued).
 */
function inferWaitsInside(
  stuck: Array<{ p: ProcessSample; c: Classification }>,
  registry: ServiceRegistry | undefined,
  outboundPeers: (p: ProcessSample) => Map<string, Endpoint>,
  stuckAfterMs: number,
): { chains: ChainReport[]; used: Set<number> } {
  const byUpstream = new Map<string, Array<{ p: ProcessSample; c: Classification }>>();
  for (const x of stuck) if (x.c.upstream && x.c.kind !== 'slow-peer') byUpstream.set(x.c.upstream, [...(byUpstream.get(x.c.upstream) ?? []), x]);
  const chains: ChainReport[] = [];
  const used = new Set<number>();
  for (const [inside, piled] of byUpstream) {
    if (piled.length < 2) continue;
    const comm = piled[0]?.p.command;
    const youngest = Math.min(...piled.map((x) => x.p.notRunForMs ?? Infinity));
    const roots = stuck
      .filter((h) => !used.has(h.p.pid) && h.c.upstream !== inside && h.p.command === comm && outboundPeers(h.p).has(inside))
      .filter((h) => h.p.notRunForMs === undefined || youngest === Infinity || h.p.notRunForMs + HOLDER_LAG_MS >= youngest)
      .sort((a, b) => (b.p.notRunForMs ?? 0) - (a.p.notRunForMs ?? 0) || a.p.pid - b.p.pid);
    const root = roots[0];
    if (!root) continue;
    const waiters = piled.filter((x) => !used.has(x.p.pid)).map((x) => x.p.pid).sort((a, b) => a - b);
    if (waiters.length < 2) continue;
    const peer = outboundPeers(root.p).get(inside) as Endpoint;
    const insideName = upstreamText(registry, peer);
    const file = serviceFor(registry, peer) ?? inside;
    const rootUpstream = root.c.resource.remote ? upstreamText(registry, parseEndpoint(root.c.resource.remote) ?? peer) : root.c.upstream;
    const how =
      `${waiters.length} ${comm} workers (${waiters.join(', ')}) are blocked without progress on ${insideName}, and pid ${root.p.pid}, ` +
      `blocked on ${rootUpstream}${root.p.notRunForMs !== undefined ? ` for ${fmtMs(root.p.notRunForMs)}` : ''}, keeps its own connection to ${insideName} open without waiting on it: ` +
      `consistent with a row lock or an open transaction of pid ${root.p.pid} inside ${file} that the others queue behind; ${file} is where they wait, not why` +
      (roots.length > 1 ? `; pids ${roots.slice(1).map((r) => r.p.pid).join(', ')} are blocked the same way` : '');
    const link: ChainLink = { lock: { type: 'waits-inside', access: 'inferred', file }, holder: root.p.pid, waiters, inferred: how };
    used.add(root.p.pid);
    for (const w of waiters) used.add(w);
    // Like any pile-up without a kernel lock: a culprit once someone in it has waited past stuck-after.
    const oldest = Math.max(root.p.notRunForMs ?? 0, ...piled.map((x) => x.p.notRunForMs ?? 0));
    chains.push({
      root: root.p.pid,
      kind: root.c.kind,
      culprit: oldest >= stuckAfterMs,
      waiters,
      links: [link],
      resource: root.c.resource,
      syscall: root.c.syscall,
      tid: root.c.tid,
      evidence: [
        `the chain continues inside ${file}: ${how}` +
          (oldest >= stuckAfterMs ? '' : `; the oldest has waited ${fmtMs(oldest)} (< --stuck-after ${fmtMs(stuckAfterMs)}): not yet a hang`),
        ...root.c.evidence,
      ],
    });
  }
  return { chains, used };
}

function parseEndpoint(text: string): Endpoint | undefined {
  const m = /^\[?([^\]]+?)\]?:([0-9]+)$/.exec(text);
  return m ? { ip: m[1] as string, port: Number(m[2]) } : undefined;
}
