/**
 * The prose: the sentences the evidence and the process reports are made of. Everything here turns
 * facts already decided (by the classifier, the wait-for graph) into words; nothing decides a kind.
 */
import type { ChainLink, ProcessSample, Sample, ThreadSample, WaitSource } from './model';
import { TCP_TIMERS, type TcpSocket } from './parse';
import type { SockInfo } from './sockdiag';
import { isDenied } from './procfs';
import { endpointText } from './services';
import type { WaitGraph } from './wait-graph';

export function fmtMs(ms: number): string {
  if (ms >= 10_000) return `${(ms / 1000).toFixed(0)} s`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1).replace(/\.0$/, '')} s`;
  return `${Math.round(ms)} ms`;
}

/** `pid 123 (python3)`, plus ` thread 125` when the wait shown is not the main thread's. */
export function who(p: ProcessSample): string {
  const thread = p.tid !== undefined && p.tid !== p.pid ? ` thread ${p.tid}${p.threadComm ? ` (${p.threadComm})` : ''}` : '';
  return `pid ${p.pid} (${p.command})${thread}`;
}

/** How the fds of an I/O wait were found. */
export function waitSourceText(source: WaitSource, fallbackReason: string | undefined): string {
  switch (source) {
    case 'pollfd':
      return 'fd and events read from the pollfd array in /proc/PID/mem';
    case 'fd_set':
      return 'fds read from the fd_set in /proc/PID/mem';
    case 'epoll-fdinfo':
      return "fds from the epoll fd's fdinfo";
    case 'sockets-fallback':
      return `${fallbackReason ?? 'fds unknown'}: guessed from the process's sockets`;
    default:
      return '';
  }
}

export function socketLine(fd: number, target: string | undefined, tcp: TcpSocket): string {
  return `fd ${fd} is ${target}: TCP ${endpointText(tcp.local)} -> ${endpointText(tcp.remote)} ${tcp.state}, tx_queue ${tcp.txQueue}, rx_queue ${tcp.rxQueue}, timer ${TCP_TIMERS[tcp.timer] ?? tcp.timer}${tcp.retransmits ? `, ${tcp.retransmits} retransmits` : ''}`;
}

/**
 * The socket's times from sock_diag, as a sentence about the peer: "storage silent for 8.4 s since
 * our last send 8.4 s ago; 1 segment unacknowledged, 4 retransmits, last ACK 8.3 s ago".
 */
export function socketTimesText(sock: SockInfo, peer: string): string | undefined {
  const { lastsndMs: snd, lastrcvMs: rcv, lastackMs: ack } = sock;
  if (snd === undefined && rcv === undefined) return undefined;
  const parts: string[] = [];
  if (rcv !== undefined && snd !== undefined && snd <= rcv) parts.push(`${peer} silent for ${fmtMs(rcv)}, since before our last send ${fmtMs(snd)} ago`);
  else if (rcv !== undefined) parts.push(`nothing received from ${peer} for ${fmtMs(rcv)}${snd !== undefined ? `; our last send ${fmtMs(snd)} ago` : ''}`);
  else if (snd !== undefined) parts.push(`our last send to ${peer} ${fmtMs(snd)} ago`);
  const counts: string[] = [];
  if (sock.unacked !== undefined) counts.push(`${sock.unacked} segment${sock.unacked === 1 ? '' : 's'} unacknowledged`);
  if (sock.retransTotal !== undefined) counts.push(`${sock.retransTotal} retransmit${sock.retransTotal === 1 ? '' : 's'} on this connection`);
  if (ack !== undefined) counts.push(`last ACK from it ${fmtMs(ack)} ago`);
  if (sock.timer) {
    const name = SS_TIMER_NAMES[sock.timer.name] ?? sock.timer.name;
    counts.push(`timer ${name}${sock.timer.expiresMs !== undefined ? ` fires in ${fmtMs(sock.timer.expiresMs)}` : ''}${sock.timer.count ? `, ${sock.timer.count} ${sock.timer.name === 'persist' ? 'probes' : sock.timer.name === 'keepalive' ? 'probes unanswered' : 'retries'}` : ''}`);
  }
  if (sock.sndWnd !== undefined) counts.push(`peer's window ${sock.sndWnd} bytes`);
  return `socket times (sock_diag): ${parts.join('')}${counts.length ? `; ${counts.join(', ')}` : ''}`;
}

/** ss's timer names as /proc/net/tcp's (TCP_TIMERS). */
const SS_TIMER_NAMES: Record<string, string> = { on: 'retransmit', persist: 'zero-window-probe', keepalive: 'keepalive', timewait: 'time-wait' };

/** For a multi-threaded process: which thread's wait is shown, and what the others do. */
export function threadsLine(p: ProcessSample): string | undefined {
  const tasks = p.tasks;
  if (!tasks || tasks.length < 2) return undefined;
  const doing = (t: ThreadSample): string => {
    if (t.wait.type === 'running') return 'running';
    if (t.syscallText) return `in ${t.syscallText}${t.wchan ? ` (wchan ${t.wchan})` : ''}`;
    return `state ${t.state}, syscall unknown`;
  };
  const others = tasks.filter((t) => t.tid !== p.tid);
  const shown = others
    .slice(0, 4)
    .map((t) => `${t.tid === p.pid ? 'main thread' : 'thread'} ${t.tid}${t.comm !== p.command ? ` (${t.comm})` : ''} ${doing(t)}`);
  const more = others.length > 4 ? ` (+${others.length - 4} more)` : '';
  if (tasks.every((t) => t.wait.type === 'unknown')) {
    return `pid ${p.pid} has ${tasks.length} threads, none running, none with a readable syscall: the main thread is shown; ${shown.join('; ')}${more}`;
  }
  const whose = p.tid === p.pid ? "the main thread's" : `thread ${p.tid}'s`;
  return `pid ${p.pid} has ${tasks.length} threads: the wait shown is ${whose} (a lock or socket wait, or CPU time rising, outranks futex, wait4 and sleeps); ${shown.join('; ')}${more}`;
}

/** Without ptrace access: the TCP sockets of the process's uid in its netns (net/tcp is public). */
export function candidateSockets(p: ProcessSample, last: Sample): string[] {
  if (p.fds !== undefined || p.uid === undefined) return [];
  const table = last.tcp.get(p.netns ?? 'unknown');
  if (!table) return [];
  const candidates = [...table.values()].filter((s) => s.uid === p.uid && s.state !== 'LISTEN' && s.state !== 'TIME_WAIT');
  if (candidates.length === 0) return [];
  return [
    `fds unreadable; TCP sockets of uid ${p.uid} in its netns (from net/tcp, no privilege needed): ` +
      candidates
        .slice(0, 5)
        .map((s) => `${endpointText(s.local)} -> ${endpointText(s.remote)} ${s.state} tx ${s.txQueue} rx ${s.rxQueue}`)
        .join('; ') +
      (candidates.length > 5 ? ` (+${candidates.length - 5} more)` : ''),
  ];
}

export function linkEvidence(graph: WaitGraph, link: ChainLink): string {
  const entry = graph.entryOf(link);
  const fd = entry ? graph.holderFd(entry, link.holder) : undefined;
  const what = `${link.lock.type} ${link.lock.access} lock on ${link.lock.path ?? `file ${link.lock.file}`}`;
  const via = fd ? ` via fd ${fd.fd}` : '';
  const ws = link.waiters;
  return `/proc/locks: ${what} (${link.lock.file}) held by pid ${link.holder}${via}; ${ws.length} waiter${ws.length === 1 ? '' : 's'} (->): ${ws.join(', ')}`;
}

export function cycleEvidence(graph: WaitGraph, cycle: number[]): string {
  const steps = cycle.map((pid) => {
    const edge = graph.edges.get(pid);
    if (!edge) return `pid ${pid}`;
    const lock = graph.lockReport(edge.entry, edge.holder);
    return `pid ${pid} waits for ${lock.type} ${lock.access} ${lock.path ?? lock.file} held by pid ${edge.holder}`;
  });
  return `lock cycle (deadlock) among ${cycle.length} processes: ${steps.join('; ')}`;
}

/** One line per process: what it waits on (its lock, its fds, its sleep). */
export function describeWait(p: ProcessSample, graph: WaitGraph): string {
  const wait = describeThreadWait(p, graph);
  return p.tid !== undefined && p.tid !== p.pid ? `thread ${p.tid}: ${wait}` : wait;
}

function describeThreadWait(p: ProcessSample, graph: WaitGraph): string {
  const edge = graph.edges.get(p.pid);
  if (edge) {
    const lock = graph.lockReport(edge.entry, edge.holder);
    return `waits in ${p.syscallText ?? 'a lock call'} for ${lock.type} ${lock.access} ${lock.path ?? lock.file} held by pid ${edge.holder}`;
  }
  const w = p.wait;
  switch (w.type) {
    case 'running':
      return 'running (no syscall)';
    case 'sleep':
      return `sleeping in ${w.syscall}`;
    case 'lock':
      return `waits in ${p.syscallText ?? w.syscall} (holder not visible)`;
    case 'io': {
      const parts = w.targets.slice(0, 4).map((t) => {
        const fd = p.fds?.find((f) => f.fd === t.fd);
        const sock = fd?.tcp ? ` tcp ${endpointText(fd.tcp.local)} -> ${endpointText(fd.tcp.remote)} ${fd.tcp.state}` : fd ? ` ${fd.target}` : '';
        return `${t.direction} fd ${t.fd}${sock}`;
      });
      return `${p.syscallText ?? w.syscall}: ${parts.join('; ') || 'no fds'}${w.targets.length > 4 ? ` (+${w.targets.length - 4})` : ''}`;
    }
    case 'other':
      return `blocked in ${p.syscallText ?? w.syscall}`;
    case 'not-in-syscall':
      return `not in a syscall (state ${p.state})`;
    case 'unknown':
      return w.reason;
  }
}

/** Where socket times (sock_diag) could not be read: the evidence lacks ages, and says so here. */
export function socketWarnings(last: Sample): string[] {
  const out: string[] = [];
  for (const result of last.sockets?.values() ?? []) {
    if (!result.ok) out.push(`socket times (sock_diag, ss -tinHe) unavailable: ${result.reason}; the evidence shows /proc/net/tcp only (queues, timer, retransmits)`);
  }
  return [...new Set(out)];
}

export function permissionWarnings(last: Sample): string[] {
  const denied = new Map<string, number[]>();
  for (const p of last.processes.values()) {
    const files = p.unreadable.filter((u) => isDenied(u.error)).map((u) => u.file);
    if (files.length === 0) continue;
    const key = [...new Set(files)].sort().join(', ');
    denied.set(key, [...(denied.get(key) ?? []), p.pid]);
  }
  const out: string[] = [];
  if (!last.locks) out.push('/proc/locks unreadable: lock chains cannot be built');
  for (const [files, pids] of denied) {
    const list = pids.length > 8 ? `${pids.slice(0, 8).join(', ')} … (${pids.length})` : pids.join(', ');
    out.push(
      `${files} unreadable for pid ${list}: missing CAP_SYS_PTRACE (run as root, or diagnose a container with --container, whose sidecar has SYS_PTRACE); shown: what /proc/locks, stat and net/tcp tell without it`,
    );
  }
  return out;
}
