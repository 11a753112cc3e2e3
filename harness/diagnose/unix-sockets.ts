/**
 * Rule: UNIX-domain sockets. Workers talk to local services over UNIX sockets (PHP-FPM's
 * /run/php/php-fpm.sock behind nginx, a local Redis or Postgres socket); a worker blocked reading
 * one is the same hang as on TCP, but /proc/PID/net/tcp does not list it, so the process rule saw
 * "not a TCP socket" and said nothing.
 *
 * What shows where: /proc/net/unix lists each socket's inode, type, state, flags (__SO_ACCEPTCON for
 * a listener) and bound name — a listener's path, which the sockets it accepts share, while a
 * client's socket is unnamed — but no peer and no queues. Those are only in the kernel's unix_diag
 * (net/unix/diag.c: UNIX_DIAG_PEER, UNIX_DIAG_RQLEN), which `ss -x` prints: Recv-Q (bytes waiting in
 * this end's queue) and Send-Q (for a connected stream socket, sk_wmem_alloc: what this end sent
 * that the peer has not read yet; measured 768 for a 5-byte unread message). So a client's fd →
 * socket:[inode] → its ss line → the peer's inode → the peer's /proc/net/unix entry → the path.
 *
 * Kinds, from what the socket shows: tx > 0 and not draining: `peer-not-reading` (the server process
 * does not read its end); tx 0 and rx 0: `silent-peer` (the server read the request and does not
 * answer); connect() blocked: `connect-stall` (the listener's backlog is full); woken with data:
 * `slow-peer`. Without unix_diag (no `ss`, another netns, the container reader) the queues are
 * unknown and the kind is `unknown`, said so. Workers outside lock chains pile up by path; a pile-up
 * is a culprit once its oldest has not run for stuck-after (like the thread-pool rule).
 */
import type { Classification } from './classify';
import { severity } from './kinds';
import type { ChainReport, Collected, FdEntry, ProcessSample, Sample } from './model';
import { parseNetUnix, parseSsUnix, type UnixSocket } from './parse';
import type { ProcSnapshot } from './procfs';
import { fmtMs, who } from './prose';
import { isEventLoopWait, isIdleWait } from './worker';

/** A wait target's fd, when it is a connected, non-listening UNIX socket. */
function unixTargets(p: ProcessSample): Array<{ fd: FdEntry; direction: string }> {
  if (p.wait.type !== 'io') return [];
  const out: Array<{ fd: FdEntry; direction: string }> = [];
  for (const t of p.wait.targets) {
    const fd = p.fds?.find((f) => f.fd === t.fd);
    if (fd?.unix && !fd.unix.listening && t.direction !== 'accept') out.push({ fd, direction: t.direction });
  }
  return out;
}

/**
 * Collect hook: the UNIX sockets behind the fds of processes that wait on a socket that is no TCP
 * one — /proc/PID/net/unix once per netns, and `ss -xHn` once per sample (only then: a pool that
 * waits on TCP pays nothing).
 */
export function attachUnixSockets(snap: ProcSnapshot, processes: ProcessSample[], netnsOf: ReadonlyMap<number, string>, last = false): void {
  const waitsOn = (p: ProcessSample, tcp: boolean): boolean => {
    const waits = [p.wait, ...(p.tasks ?? []).map((t) => t.wait)];
    return waits.some(
      (w) => w.type === 'io' && w.targets.some((t) => p.fds?.some((f) => f.fd === t.fd && f.type === 'socket' && (tcp ? f.tcp !== undefined && f.tcp.state !== 'LISTEN' : !f.tcp))),
    );
  };
  // In the last sample, also the other sockets of processes waiting on a TCP connection: whether
  // one is a client accepted from a UNIX listener decides if anyone waits on them (worker.ts
  // servesClient). Their names and states are in net/unix; unix_diag (peers, queues) is not needed.
  const holdsOther = (p: ProcessSample): boolean => last && (p.fds ?? []).some((f) => f.type === 'socket' && !f.tcp) && waitsOn(p, true);
  const wanted = processes.filter((p) => p.fds && (waitsOn(p, false) || holdsOther(p)));
  if (wanted.length === 0) return;
  let diag: Map<number, { peer: number; rxQueue: number; txQueue: number }> | undefined;
  let diagNetns: string | undefined;
  const d = wanted.some((p) => waitsOn(p, false)) ? snap.unixDiag?.() : undefined;
  if (d?.ok) {
    diag = parseSsUnix(d.text);
    diagNetns = d.netns;
  }
  const tables = new Map<string, Map<number, UnixSocket> | undefined>();
  for (const p of wanted) {
    const ns = netnsOf.get(p.pid) ?? 'unknown';
    if (!tables.has(ns)) {
      const r = snap.read(`${p.pid}/net/unix`);
      const table = r.ok ? new Map(parseNetUnix(r.text).map((s) => [s.inode, s])) : undefined;
      // unix_diag answers for the reader's own netns only: its peers and queues belong there.
      if (table && diag && ns === diagNetns) {
        for (const sock of table.values()) {
          const extra = diag.get(sock.inode);
          if (!extra) continue;
          sock.peer = extra.peer;
          sock.rxQueue = extra.rxQueue;
          sock.txQueue = extra.txQueue;
          const peerPath = table.get(extra.peer)?.path;
          if (peerPath !== undefined) sock.peerPath = peerPath;
        }
      }
      tables.set(ns, table);
    }
    const table = tables.get(ns);
    for (const fd of p.fds ?? []) {
      if (fd.type === 'socket' && !fd.tcp && fd.socketInode !== undefined) {
        const sock = table?.get(fd.socketInode);
        if (sock) fd.unix = sock;
      }
    }
  }
}

/** The process whose fds hold the other end (only among the processes read). */
function peerOwner(last: Sample, peer: number | undefined): ProcessSample | undefined {
  if (peer === undefined || peer === 0) return undefined;
  for (const p of last.processes.values()) if (p.fds?.some((f) => f.socketInode === peer)) return p;
  return undefined;
}

/** A process's wait on a UNIX socket as a classification, or undefined when it waits on none. */
export function classifyUnix(collected: Collected, pid: number, holdsLock: boolean, spanMs: number): (Classification & { ageMs?: number }) | undefined {
  const samples = collected.samples;
  const last = samples[samples.length - 1] as Sample;
  const p = last.processes.get(pid);
  if (!p || p.wait.type !== 'io' || isIdleWait(p.wait, p.fds) || isEventLoopWait(p.wait, p.fds)) return undefined;
  const target = unixTargets(p)[0];
  if (!target) return undefined;
  const sock = target.fd.unix as UnixSocket;
  const wait = p.wait;
  const history = samples.map((s) => s.processes.get(pid));
  const first = history[0];
  const p0 = first && first.tid === p.tid ? first : undefined;
  const persistent = history.every(
    (h) => h !== undefined && h.tid === p.tid && h.syscallText === p.syscallText && unixTargets(h).some((t) => t.fd.socketInode === sock.inode),
  );
  const ctxt = (x: ProcessSample | undefined): number | undefined =>
    x?.voluntaryCtxt === undefined ? undefined : x.voluntaryCtxt + (x.nonvoluntaryCtxt ?? 0);
  const now = ctxt(p);
  const then = ctxt(p0);
  const woke = now !== undefined && then !== undefined ? now - then : undefined;
  const timeoutWakeups = wait.timeoutMs !== undefined && wait.timeoutMs > 0 ? Math.floor(spanMs / wait.timeoutMs) + 1 : 0;
  const tx0 = p0?.fds?.find((f) => f.socketInode === sock.inode)?.unix?.txQueue;
  const drained = tx0 !== undefined && sock.txQueue !== undefined && tx0 > sock.txQueue;
  const moved = (woke !== undefined && woke > timeoutWakeups) || drained;
  const multi = samples.length > 1;
  // A named socket is the server end of a connection accepted from that listener: a client of
  // ours (an FPM worker reading nginx's request), not an upstream.
  const inbound = sock.path !== undefined;
  const where = sock.peerPath ?? (sock.peer ? `an unnamed socket (peer inode ${sock.peer})` : undefined);
  const owner = peerOwner(last, sock.peer);
  const queues = sock.txQueue === undefined ? 'queues unknown (no unix_diag: `ss` missing, or another network namespace)' : `rx_queue ${sock.rxQueue}, tx_queue ${sock.txQueue} (unix_diag, ss -x)`;
  const evidence = [
    `${who(p)} blocked in ${p.syscallText ?? wait.syscall}${holdsLock ? ' while holding the lock' : ''}${
      wait.timeoutMs === -1 ? ' with no timeout' : wait.timeoutMs !== undefined ? ` (timeout ${wait.timeoutMs} ms)` : ''
    }, waiting to ${target.direction} fd ${target.fd.fd}`,
    `fd ${target.fd.fd} is ${target.fd.target}: UNIX ${sock.type} ${sock.state}${inbound ? ` accepted on ${sock.path}` : ''}${
      where ? `, connected to ${where}` : ', peer unknown'
    }${owner ? ` held by pid ${owner.pid} (${owner.command})` : ''}; ${queues}`,
    multi
      ? moved
        ? `bytes moving across ${samples.length} samples over ${fmtMs(spanMs)}: woke ${woke ?? '?'} times in the same wait${drained ? `, tx_queue ${tx0}->${sock.txQueue}` : ''}`
        : `no progress across ${samples.length} samples over ${fmtMs(spanMs)}: same syscall, same socket${
            woke !== undefined ? `, voluntary_ctxt_switches ${woke === 0 ? `unchanged at ${p.voluntaryCtxt}` : `+${woke} (timeouts)`}` : ''
          }${p.notRunForMs !== undefined ? `; has not run on a CPU for ${fmtMs(p.notRunForMs)}` : ''}`
      : 'one sample: cannot tell stuck from slow',
  ];
  const upstream = inbound ? undefined : `unix:${sock.peerPath ?? `peer ${sock.peer ?? sock.inode}`}`;
  const resource = {
    type: 'socket' as const,
    fd: target.fd.fd,
    path: sock.peerPath ?? (inbound ? sock.path : undefined) ?? target.fd.target,
    state: sock.state,
    ...(sock.txQueue !== undefined ? { txQueue: sock.txQueue, rxQueue: sock.rxQueue } : {}),
  };
  const result = (kind: Classification['kind'], why: string): Classification & { ageMs?: number } => ({
    kind,
    resource,
    syscall: p.syscallText ?? null,
    evidence: [...evidence, why],
    persistent,
    upstream,
    timeoutMs: wait.timeoutMs,
    tid: p.tid,
    ageMs: p.notRunForMs,
  });
  if (target.direction === 'connect' || sock.state === 'CONNECTING') {
    return result('connect-stall', `connect() on ${where ?? 'the socket'} does not complete: the listener's accept backlog is full (its server does not accept)`);
  }
  if (multi && moved) return result('slow-peer', 'the peer answers, slowly: data arrives, so the wait keeps restarting');
  if (sock.txQueue === undefined) return result('unknown', 'without unix_diag the queues are unknown: whether the peer read the request cannot be told');
  if (!multi) return result('unknown', 'one sample: whether the peer reads cannot be told');
  if (sock.txQueue > 0) {
    return result(
      'peer-not-reading',
      `${sock.txQueue} bytes of ours sit unread in the peer's receive queue and do not drain: the server process does not read its end (busy elsewhere, every worker taken, or frozen)`,
    );
  }
  return result(
    'silent-peer',
    `nothing of ours is unread at the peer (tx_queue 0) and nothing has arrived (rx_queue 0): the server read the request and does not answer — consistent with a server blocked on its own upstream, or frozen; no timeout on this wait`,
  );
}

/**
 * Workers outside lock chains blocked on UNIX sockets, grouped by the path they are connected to.
 * A group is a culprit once its oldest has not run for stuck-after; a slow one (data arriving) never
 * is (wake-ups cannot tell a trickle from short requests answered in time).
 */
export function unixChains(collected: Collected, exclude: ReadonlySet<number>, stuckAfterMs: number, spanMs: number): { chains: ChainReport[]; used: Set<number> } {
  const last = collected.samples[collected.samples.length - 1] as Sample;
  const groups = new Map<string, Array<{ pid: number; c: Classification & { ageMs?: number } }>>();
  for (const p of last.processes.values()) {
    if (exclude.has(p.pid)) continue;
    const c = classifyUnix(collected, p.pid, false, spanMs);
    if (!c || !c.upstream || !c.persistent || c.kind === 'unknown') continue;
    if (c.kind !== 'slow-peer' && c.timeoutMs !== undefined && c.timeoutMs >= 0 && c.timeoutMs < stuckAfterMs) continue;
    groups.set(c.upstream, [...(groups.get(c.upstream) ?? []), { pid: p.pid, c }]);
  }
  const chains: ChainReport[] = [];
  const used = new Set<number>();
  for (const [upstream, list] of groups) {
    list.sort((a, b) => (b.c.ageMs ?? 0) - (a.c.ageMs ?? 0) || a.pid - b.pid);
    const moving = list.find((x) => x.c.kind === 'slow-peer');
    const head = moving ?? (list[0] as (typeof list)[number]);
    const kind = moving ? 'slow-peer' : ([...list].sort((a, b) => severity(a.c.kind) - severity(b.c.kind))[0]?.c.kind ?? head.c.kind);
    const age = list[0]?.c.ageMs;
    const old = age !== undefined && age >= stuckAfterMs;
    for (const x of list) used.add(x.pid);
    const path = upstream.slice('unix:'.length);
    chains.push({
      root: head.pid,
      kind,
      culprit: !moving && old,
      waiters: list.filter((x) => x !== head).map((x) => x.pid).sort((a, b) => a - b),
      links: [],
      resource: head.c.resource,
      syscall: head.c.syscall,
      tid: head.c.tid,
      evidence: [
        `${list.length} worker${list.length === 1 ? '' : 's'} wait${list.length === 1 ? 's' : ''} on the UNIX socket ${path}: pid${list.length === 1 ? '' : 's'} ${list.map((x) => x.pid).join(', ')}` +
          (moving
            ? '; data arrives (a slow peer): not named a culprit'
            : age === undefined
              ? '; wait age unknown (sched unreadable): not named a culprit'
              : old
                ? `; the oldest has not run for ${fmtMs(age)} (>= --stuck-after ${fmtMs(stuckAfterMs)})`
                : `; the oldest has waited ${fmtMs(age)} (< --stuck-after ${fmtMs(stuckAfterMs)}): requests in flight, not yet a hang`),
        ...head.c.evidence,
      ],
    });
  }
  return { chains, used };
}
