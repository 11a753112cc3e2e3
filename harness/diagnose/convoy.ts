/**
 * Convoys behind a lock the kernel does not know: the lock lives in another service. phpredis'
 * session lock is a Redis key: a waiter loops `SET <id>_LOCK <secret> NX [PX ms]`, and on a miss
 * sleeps `usleep(lock_wait_time)` and retries, `lock_retries` times (-1: forever). Read in
 * phpredis' redis_session.c, lock_acquire() (github.com/phpredis/phpredis, develop at 0fe45d24):
 * defaults lock_wait_time 20000 µs when 0 and lock_retries 100 (INI defaults in redis.c: "20000",
 * "100"; Debian bookworm's 5.3.7 prints 2000 and 10). lock_release() deletes the key through
 * EVALSHA/EVAL only if it still holds the holder's secret. Nothing of it reaches /proc/locks.
 *
 * So the link is inferred from what the processes show: one worker blocked without progress on a
 * socket to some upstream (a database, an API) while it keeps a connection to a lock service,
 * and workers of the same program that cycle (their context switches rise between samples; they
 * sleep briefly in nanosleep/clock_nanosleep or poll with a timeout) over their own connection to
 * that same service. The evidence says so, and the link carries `inferred`.
 */
import type { Classification, Classifier } from './classify';
import { isUpstreamKind } from './kinds';
import type { ChainLink, ChainReport, Collected, ProcessSample, ServiceRegistry } from './model';
import type { Endpoint } from './parse';
import { fmtMs } from './prose';
import { endpointText, serviceFor } from './services';
import { isEventLoopWait, isIdle } from './worker';

/** Ports of well-known lock-keeping services, for naming the inferred lock when the registry cannot. */
const REDIS_PORTS = new Set([6379]);

interface Cycler {
  pid: number;
  woke: number;
  doing: string;
  peers: Map<string, Endpoint>;
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
    const p0 = first.processes.get(p.pid);
    const ctxt = (x: ProcessSample | undefined): number | undefined =>
      x?.voluntaryCtxt === undefined ? undefined : x.voluntaryCtxt + (x.nonvoluntaryCtxt ?? 0);
    const now = ctxt(p);
    const then = p0 && p0.tid === p.tid ? ctxt(p0) : undefined;
    if (now === undefined || then === undefined || now <= then) continue;
    const w = p.wait;
    const doing =
      w.type === 'sleep'
        ? `sleeps in ${w.syscall}`
        : w.type === 'io' && w.timeoutMs !== undefined && w.timeoutMs >= 0
          ? `polls with a ${w.timeoutMs} ms timeout`
          : w.type === 'running'
            ? 'runs'
            : w.type === 'io'
              ? `waits in ${w.syscall}`
              : undefined;
    if (!doing) continue;
    cyclers.push({ pid: p.pid, woke: now - then, doing, peers: outboundPeers(p) });
  }
  if (holders.length === 0 || cyclers.length === 0) return none;

  // Each holder's best lock service: the peer (other than the one it is stuck on) that the most
  // cycling workers of the same program share with it.
  const candidates = holders
    .map(({ p, c }) => {
      let best: { key: string; peer: Endpoint; waiters: Cycler[] } | undefined;
      for (const [key, peer] of outboundPeers(p)) {
        if (key === c.upstream) continue;
        const waiters = cyclers.filter((x) => x.peers.has(key) && last.processes.get(x.pid)?.command === p.command);
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
    const redis = service?.toLowerCase().includes('redis') || REDIS_PORTS.has(cand.peer.port);
    const upstreamName = cand.c.resource.service ? `${cand.c.resource.service} (${cand.c.upstream})` : cand.c.upstream;
    const span = fmtMs(Math.round(last.takenAtMs - first.takenAtMs));
    const woke = waiters.map((x) => x.woke);
    const doing = [...new Set(waiters.map((x) => x.doing))].join(', ');
    const how =
      `no kernel lock ties them (nothing in /proc/locks): pid ${cand.p.pid} ${cand.c.kind === 'slow-peer' ? 'reads a trickle from' : 'is blocked without progress on'} ${upstreamName} ` +
      `while it keeps a connection to ${lockService}; ${waiters.length} ${cand.p.command} worker${waiters.length === 1 ? '' : 's'} ` +
      `(${waiters.map((x) => x.pid).join(', ')}) cycle over their own connections to ${lockService}: context switches rose by ` +
      `${Math.min(...woke) === Math.max(...woke) ? Math.min(...woke) : `${Math.min(...woke)}-${Math.max(...woke)}`} in ${span}, now ${doing}` +
      (redis
        ? `: polling for a lock kept in ${lockService} (phpredis session locking: SET NX, usleep, retry)`
        : `: polling for a lock kept in ${lockService}`) +
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
  return { chains, used };
}
