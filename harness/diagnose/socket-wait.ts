/**
 * Classification of a wait on fds (poll, select, epoll, read, write, connect …), which classify.ts
 * hands over: an idle listener, fds that could not be read, a wait on something other than a TCP
 * socket, and for a TCP socket what its queues, timer, retransmits and sock_diag times say of the
 * peer — it never answered the connect, trickles (slow peer), takes none of our bytes (peer not
 * reading), does not acknowledge (unreachable), or sends nothing (silent peer).
 */
import type { Classification } from './classify';
import type { CulpritKind } from './kinds';
import type { FdEntry, IoDirection, ProcessSample, ResourceReport, Sample, ServiceRegistry, Wait } from './model';
import { TCP_TIMERS, type TcpSocket } from './parse';
import type { SockInfo } from './sockdiag';
import { candidateSockets, fmtMs, socketLine, socketTimesText, waitSourceText, who } from './prose';
import { endpointText, serviceFor } from './services';
import { awaitsReply, isIdleWait, isListeningTarget } from './worker';

/** Send-queue shrinkage between samples that counts as bytes moving (see classifySocketWait). */
export const DRAIN_PROGRESS_BYTES = 32 * 1024;

/** What classify.ts knows of a process whose wait is on fds, and of the samples it was read in. */
export interface SocketWaitFacts {
  /** The process's last sample and its wait. */
  p: ProcessSample;
  w: Extract<Wait, { type: 'io' }>;
  /** Its first sample when it is of the same thread (counters compare only then). */
  p0: ProcessSample | undefined;
  /** Its first sample, whichever thread it shows. */
  first: ProcessSample | undefined;
  /** The process in every sample, first to last (undefined where it was not read). */
  history: Array<ProcessSample | undefined>;
  last: Sample;
  multi: boolean;
  spanMs: number;
  registry: ServiceRegistry | undefined;
  syscall: string | null;
  sameSyscall: boolean;
  /** Prose fragments shared with the other waits: the span, `; has not run …`, ` while holding the lock`. */
  span: string;
  notRun: string;
  holding: string;
}

/** Outstanding zero-window probes that make a closed window an unreachable peer (each ACK resets the count). */
export const UNANSWERED_PROBES = 2;

/**
 * Retransmits sock_diag shows: the retransmit timer's count (icsk_retransmits, as /proc/net/tcp's
 * column) or the connection's total (ss `retrans:outstanding/total`), whichever is larger.
 */
function sockRetransmits(sock: SockInfo | undefined): number {
  if (!sock) return 0;
  return Math.max(sock.timer?.name === 'on' ? sock.timer.count : 0, sock.retransTotal ?? 0);
}

/**
 * The age that decides whether a wait on an outbound socket is stuck: how long its request has been
 * outstanding. A worker that loops (a long-poll answered empty, a BLPOP timing out, a retry after a
 * read timeout, short queries back to back) sends a new request each time, so the time since our
 * last send (sock_diag lastsnd) is the current request's age, however old the process's wait
 * looks. A trickle wakes its worker per chunk (the sched age says nothing) but sends nothing: its
 * request is as old as lastsnd, and it counts. For a silent peer the shorter of lastsnd and the
 * time since the process last ran is honest either way. Retransmissions (unreachable peer) and
 * probes reset lastsnd while the request stays unanswered, so those kinds keep the sched age.
 */
function requestAge(kind: CulpritKind, sock: SockInfo | undefined, notRunForMs: number | undefined, writing: boolean): Pick<Classification, 'requestAgeMs' | 'requestAgeFrom'> {
  const sent = sock?.lastsndMs;
  const ran = notRunForMs;
  // A slow reader drains our send queue, each chunk a send, and wakes the writer each time: a
  // writer's request is outstanding until it is all written, so neither lastsnd nor the time since
  // it ran is its age. On a connection that has received nothing yet, the request is as old as
  // the connection: lastrcv counts from the handshake (the kernel's lrcvtime, set on connect).
  // It has been blocked at least as long as it has not run, so the longer of the two counts.
  // On a pooled one the age is unknown and the writers count by their pile-up (analyze.ts).
  if (writing && (kind === 'slow-peer' || kind === 'peer-not-reading') && sock?.bytesReceived === 0 && sock.lastrcvMs !== undefined) {
    if (kind === 'peer-not-reading' && ran !== undefined && ran > sock.lastrcvMs) return { requestAgeMs: ran, requestAgeFrom: 'ran' };
    return { requestAgeMs: sock.lastrcvMs, requestAgeFrom: 'connected' };
  }
  if (kind === 'slow-peer') return sent === undefined || writing ? {} : { requestAgeMs: sent, requestAgeFrom: 'sent' };
  if (kind === 'silent-peer' && sent !== undefined && (ran === undefined || sent < ran)) return { requestAgeMs: sent, requestAgeFrom: 'sent' };
  return ran === undefined ? {} : { requestAgeMs: ran, requestAgeFrom: 'ran' };
}

/**
 * What a wait on fds means. On a TCP socket, whether bytes moved between the first and the last
 * sample (wake-ups beyond the wait's own timeouts, rchar+wchar, a send queue drained by more than
 * DRAIN_PROGRESS_BYTES) tells a slow peer from a stuck one; the socket's state, timer, retransmits
 * and sock_diag times then say which kind of stuck.
 */
export function classifySocketWait(facts: SocketWaitFacts): Classification {
  const { p, w, p0, first, history, last, multi, spanMs, registry, syscall, sameSyscall, span, notRun, holding } = facts;
  const ctxt = (x: ProcessSample): number | undefined =>
    x.voluntaryCtxt === undefined ? undefined : x.voluntaryCtxt + (x.nonvoluntaryCtxt ?? 0);
  const ctxtNow = ctxt(p);
  const ctxtThen = p0 ? ctxt(p0) : undefined;
  const ioBytes = (x: ProcessSample | undefined): number | undefined =>
    x?.io?.rchar === undefined || x.io.wchar === undefined ? undefined : x.io.rchar + x.io.wchar;
  const ioNow = ioBytes(p);
  const ioThen = ioBytes(first);
  const ioDelta = ioNow !== undefined && ioThen !== undefined ? ioNow - ioThen : undefined;
  const via = waitSourceText(w.source, w.fallbackReason);
  const entries = w.targets.map((t) => ({ t, fd: p.fds?.find((f) => f.fd === t.fd) }));
  const listening = (e: { t: { direction: IoDirection }; fd?: FdEntry }): boolean => isListeningTarget(e.t, e.fd);
  if (isIdleWait(w, p.fds)) {
    return {
      kind: 'idle',
      resource: fdResource(entries[0]?.fd, entries[0]?.t.fd, registry),
      syscall,
      evidence: [`${who(p)} waits for new connections (${syscall ?? w.syscall} on a listening socket): an idle worker`],
      persistent: sameSyscall,
    };
  }
  const busy = entries.filter((e) => !listening(e));
  const primary = busy.find((e) => e.fd?.tcp) ?? busy.find((e) => e.fd?.type === 'socket') ?? busy[0];
  if (!primary) {
    return {
      kind: 'unknown',
      resource: { type: 'unknown' },
      syscall,
      evidence: [
        `${who(p)} waits in ${syscall ?? w.syscall}${holding} but its fds are unknown (${w.fallbackReason ?? 'no fds'})`,
        ...candidateSockets(p, last),
      ],
      persistent: sameSyscall,
    };
  }
  const resource = fdResource(primary.fd, primary.t.fd, registry);
  const tcp = primary.fd?.tcp;
  const base = `${who(p)} blocked in ${syscall ?? w.syscall}${holding}${
    w.timeoutMs === -1 ? ' with no timeout' : w.timeoutMs !== undefined ? ` (timeout ${w.timeoutMs} ms)` : ''
  }, waiting to ${primary.t.direction} fd ${primary.t.fd}${via ? ` (${via})` : ''}`;
  if (!tcp) {
    return {
      kind: 'unknown',
      resource,
      syscall,
      evidence: [base, `fd ${primary.t.fd} is ${primary.fd?.target ?? 'unknown'} (not a TCP socket)`],
      persistent: sameSyscall,
    };
  }
  const tcp0 = first?.fds?.find((f) => f.socketInode === tcp.inode)?.tcp;
  const sameSocket = history.every(
    (h) => h && h.wait.type === 'io' && h.wait.targets.some((t) => h.fds?.find((f) => f.fd === t.fd)?.socketInode === tcp.inode),
  );
  const queuesMoved = tcp0 !== undefined && (tcp0.txQueue !== tcp.txQueue || tcp0.rxQueue !== tcp.rxQueue);
  const woke = ctxtNow !== undefined && ctxtThen !== undefined ? ctxtNow - ctxtThen : undefined;
  // recv/send on sockets do not count in /proc/PID/io (only read/write do), so wake-ups are the
  // other sign of bytes moving: a blocked socket wait only wakes when data or buffer space
  // arrives, unless its poll timeout is short enough to explain the wake-ups by itself.
  const timeoutWakeups =
    w.timeoutMs !== undefined && w.timeoutMs > 0 ? Math.floor(spanMs / w.timeoutMs) + 1 : 0;
  const wokeWithData = woke !== undefined && woke > timeoutWakeups;
  // A shrinking send queue is progress only past a margin: a closed window still shrinks a
  // little as the receiver collapses its buffers, without the blocked writer ever waking up.
  // A peer that reads slowly drains it in whole chunks, though the writer (blocked until a
  // large share of its buffer frees) may not wake for many seconds.
  const drained = tcp0 !== undefined && tcp.txQueue > 0 && tcp0.txQueue - tcp.txQueue >= DRAIN_PROGRESS_BYTES;
  const moved = (ioDelta !== undefined && ioDelta > 0) || wokeWithData || drained;
  const sockLine = socketLine(primary.t.fd, primary.fd?.target, tcp);
  const evidence = [base, sockLine];
  if (resource.service) evidence.push(`peer ${endpointText(tcp.remote)} is service ${resource.service}`);
  const progress = multi
    ? moved
      ? `bytes moving across ${span}: ${woke !== undefined ? `woke ${woke} times in the same wait` : ''}${drained ? `, send queue drained ${(tcp0?.txQueue ?? 0) - tcp.txQueue} bytes` : ''}${ioDelta ? `, ${ioDelta} bytes read/written (rchar+wchar)` : ''}${queuesMoved ? `, queues tx ${tcp0?.txQueue}->${tcp.txQueue} rx ${tcp0?.rxQueue}->${tcp.rxQueue}` : ''}`
      : `no progress across ${span}: same syscall, same queues${ioDelta !== undefined ? ', 0 bytes read/written' : ''}${woke !== undefined ? `, voluntary_ctxt_switches ${woke === 0 ? `unchanged at ${p.voluntaryCtxt}` : `+${woke} (woke without data: timeouts)`}` : ''}${notRun}`
    : `one sample: cannot tell stuck from slow${notRun}`;
  evidence.push(progress);
  const upstream = isInbound(last, p, tcp) ? undefined : endpointText(tcp.remote);
  // An epoll wait is an event loop's, over one connection or several: it is not blocked on any
  // one request, so a connection waits only when we sent on it after our last receive.
  const multiplexed = /^epoll/.test(w.syscall) && primary.fd !== undefined && primary.fd.sock?.lastrcvMs !== undefined;
  const result = (kind: CulpritKind, why: string): Classification => ({
    kind,
    resource,
    syscall,
    evidence: [...evidence, why],
    persistent: sameSocket,
    upstream,
    timeoutMs: w.timeoutMs,
    ...requestAge(kind, primary.fd?.sock, p.notRunForMs, primary.t.direction === 'write'),
    ...(multiplexed && primary.fd ? { awaitsReply: awaitsReply(primary.fd) } : {}),
  });
  if (tcp.state === 'SYN_SENT' || primary.t.direction === 'connect') {
    return result('connect-stall', `the connection never completed: SYN sent, no SYN-ACK (peer down, filtered, or its accept backlog is full)`);
  }
  if (multi && moved) {
    return result('slow-peer', `the peer is alive but slow: data trickles, so per-operation timeouts never fire`);
  }
  const timer = TCP_TIMERS[tcp.timer] ?? String(tcp.timer);
  const sock = primary.fd?.sock;
  const timeoutText =
    w.timeoutMs !== undefined && w.timeoutMs >= 0 ? `; the wait times out after ${w.timeoutMs} ms` : w.timeoutMs === -1 ? '; the wait has no timeout' : '';
  const peerName = resource.service ?? endpointText(tcp.remote);
  const times = sock ? socketTimesText(sock, peerName) : undefined;
  if (times) evidence.push(times);
  // The timer and retransmits as either source shows them (/proc/net/tcp, sock_diag). The
  // retransmit timer alone is no sign: it is armed whenever bytes are in flight.
  const probing = tcp.timer === 4 || sock?.timer?.name === 'persist' || (sock?.sndWnd === 0 && tcp.txQueue > 0);
  const retransmits = Math.max(tcp.retransmits, sockRetransmits(sock));
  const unacked = sock?.unacked;
  const inFlight = tcp.txQueue > 0 || (unacked ?? 0) > 0;
  // Whether the peer's host still answers: its last ACK came after our last (re)transmission
  // (within 100 ms: an RTT on any path that matters here). Unknown without sock_diag.
  const lastAck = sock?.lastackMs;
  const lastSend = sock?.lastsndMs;
  const hostAnswers = lastAck !== undefined && lastSend !== undefined ? lastAck <= lastSend + 100 : undefined;
  // Zero-window probes the peer's kernel leaves unanswered: an ACK resets the probe count
  // (icsk_probes_out, ss's `timer:(persist,…,N)`), so two or more outstanding mean no ACK came back
  // to two probes in a row. The window was closed when the path went silent (a partition landing
  // while the peer's buffers were full): not a peer that does not read, one that does not answer.
  const unansweredProbes = sock?.timer?.name === 'persist' ? sock.timer.count : 0;
  if (probing && unansweredProbes >= UNANSWERED_PROBES) {
    return result(
      'unreachable-peer',
      `zero-window probes go unanswered (${unansweredProbes} out, timer zero-window-probe; an ACK would reset the count)${lastAck !== undefined ? `, no ACK from the peer's host for ${fmtMs(lastAck)}` : ''}: its window was closed when it stopped answering at the TCP level (down, or the path drops packets); tx_queue ${tcp.txQueue} is not draining${timeoutText}`,
    );
  }
  if (probing) {
    return result(
      'peer-not-reading',
      `${tcp.timer === 4 || sock?.timer?.name === 'persist' ? 'zero-window probes (timer zero-window-probe)' : 'the peer advertises a zero window (snd_wnd 0)'}: the peer's kernel acknowledges but its receive window is closed, so its process does not read; tx_queue ${tcp.txQueue} is not draining${timeoutText}`,
    );
  }
  if (retransmits > 0 && inFlight && hostAnswers === true) {
    return result(
      'peer-not-reading',
      `we retransmit (${retransmits} retransmit${retransmits === 1 ? '' : 's'}, tx_queue ${tcp.txQueue}) but the peer's host acknowledges (last ACK ${fmtMs(lastAck as number)} ago, after our last send ${fmtMs(lastSend as number)} ago): it is reachable and drops what it has no room for, so its process does not read${timeoutText}`,
    );
  }
  if (retransmits > 0 && inFlight) {
    return result(
      'unreachable-peer',
      `our bytes are not acknowledged (tx_queue ${tcp.txQueue} bytes${unacked !== undefined ? `, ${unacked} segment${unacked === 1 ? '' : 's'} in flight` : ''}, timer ${timer}, ${retransmits} retransmit${retransmits === 1 ? '' : 's'})` +
        (hostAnswers === false
          ? `, and no ACK has come from the peer's host for ${fmtMs(lastAck as number)}, since before our last send ${fmtMs(lastSend as number)} ago: it does not answer at the TCP level (down, or the path drops packets)`
          : ': the peer does not acknowledge (down, or the path drops packets); sock_diag is unavailable, so whether its host still answers at all is not known') +
        timeoutText,
    );
  }
  if (primary.t.direction === 'write' || tcp.txQueue > 0) {
    return result(
      'peer-not-reading',
      `the send queue is not draining (tx_queue ${tcp.txQueue}, timer ${timer}, no retransmits shown): the peer does not take our bytes${timeoutText}`,
    );
  }
  if (tcp.state !== 'ESTABLISHED') {
    return result('silent-peer', `the read waits on a ${tcp.state} connection that will deliver nothing${timeoutText}`);
  }
  const timerText =
    tcp.timer === 2
      ? 'keepalive runs on it (timer keepalive): a peer that is gone is found once its probes go unanswered'
      : tcp.timer === 0
        ? 'no timer runs on it (no keepalive): unless the read times out, nothing ends this wait'
        : `timer ${timer}`;
  return result(
    'silent-peer',
    `the connection is ESTABLISHED with nothing of ours in flight (tx_queue 0${unacked !== undefined ? `, ${unacked} unacknowledged` : ''}) and nothing arriving (rx_queue ${tcp.rxQueue}); ${timerText}${timeoutText}. The peer is silent: consistent with a lost FIN/RST, a frozen peer, or a peer busy elsewhere; the socket alone cannot tell them apart`,
  );
}

/** A socket accepted from one of our own listeners is a client connection, not an upstream. */
export function isInbound(last: Sample, p: ProcessSample, tcp: TcpSocket): boolean {
  const table = last.tcp.get(p.netns ?? 'unknown');
  if (!table) return false;
  for (const s of table.values()) {
    if (s.state === 'LISTEN' && s.local.port === tcp.local.port) return true;
  }
  return false;
}

/**
 * What an fd is, for the report: a TCP socket with its endpoints, queues, timer, retransmits and
 * sock_diag times (and the service its peer is), or a UNIX socket, pipe or file by its target.
 */
export function fdResource(fd: FdEntry | undefined, fdNumber: number | undefined, registry: ServiceRegistry | undefined): ResourceReport {
  if (!fd) return { type: 'unknown', fd: fdNumber };
  if (fd.tcp) {
    const r: ResourceReport = {
      type: 'tcp',
      fd: fd.fd,
      local: endpointText(fd.tcp.local),
      remote: endpointText(fd.tcp.remote),
      state: fd.tcp.state,
      txQueue: fd.tcp.txQueue,
      rxQueue: fd.tcp.rxQueue,
      timer: TCP_TIMERS[fd.tcp.timer] ?? String(fd.tcp.timer),
    };
    if (fd.tcp.retransmits > 0) r.retransmits = fd.tcp.retransmits;
    const sock = fd.sock;
    if (sock) {
      if (sock.unacked !== undefined) r.unacked = sock.unacked;
      if (sockRetransmits(sock) > (r.retransmits ?? 0)) r.retransmits = sockRetransmits(sock);
      if (sock.lastsndMs !== undefined) r.lastSendMs = sock.lastsndMs;
      if (sock.lastrcvMs !== undefined) r.lastReceiveMs = sock.lastrcvMs;
      if (sock.lastackMs !== undefined) r.lastAckMs = sock.lastackMs;
    }
    const service = serviceFor(registry, fd.tcp.remote);
    if (service) r.service = service;
    return r;
  }
  if (fd.type === 'socket') return { type: 'socket', fd: fd.fd, path: fd.target };
  if (fd.type === 'pipe') return { type: 'pipe', fd: fd.fd, path: fd.target };
  if (fd.type === 'file') return { type: 'file', fd: fd.fd, path: fd.target };
  return { type: 'unknown', fd: fd.fd, path: fd.target };
}
