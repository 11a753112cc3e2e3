/**
 * Facts about workers, defined once: the diagnoser (collect's thread ranking, the classifier, the
 * process roles) and the pool probe (harness/probes/pool.ts) all ask these, so the pool occupancy a
 * scenario records and the diagnosis of the same pool cannot disagree.
 */
import type { FdEntry, IoDirection, ProcessSample, Sample, Wait } from './model';
import type { TcpSocket } from './parse';

/** One fd a wait is on: the fd is listening when the syscall is accept or the socket is in LISTEN. */
export function isListeningTarget(target: { direction: IoDirection }, fd: FdEntry | undefined): boolean {
  return target.direction === 'accept' || fd?.tcp?.state === 'LISTEN';
}

function targetsOf(wait: Wait, fds: FdEntry[] | undefined): Array<{ listening: boolean; fd?: FdEntry; direction: IoDirection }> {
  if (wait.type !== 'io') return [];
  return wait.targets.map((t) => {
    const fd = fds?.find((f) => f.fd === t.fd);
    return { listening: isListeningTarget(t, fd), fd, direction: t.direction };
  });
}

/**
 * An idle worker waits for new connections and nothing else: accept/accept4, or poll/epoll/select
 * on listening sockets only (Apache prefork in accept, a PHP-FPM `pool www` worker in accept on the
 * FPM socket). Never a culprit.
 */
export function isIdleWait(wait: Wait, fds: FdEntry[] | undefined): boolean {
  const targets = targetsOf(wait, fds);
  return targets.length > 0 && targets.every((t) => t.listening);
}

/**
 * An event loop waits on listening sockets and connections at once (nginx, a node server): it
 * multiplexes many requests and is not blocked on any one of them, so it is never counted as a
 * worker stuck on an upstream.
 */
export function isEventLoopWait(wait: Wait, fds: FdEntry[] | undefined): boolean {
  const targets = targetsOf(wait, fds);
  return targets.some((t) => t.listening) && targets.some((t) => !t.listening);
}

/**
 * Whether an outbound connection carries a request without its reply, from sock_diag's socket
 * times: we sent after our last receive and nothing is queued unread. lastsnd and lastrcv count
 * jiffies (4 ms at HZ 250): a request written right after the handshake shows both equal, and so
 * does a reply that came within the same tick. Equal times are a request without its reply only
 * when nothing was ever received on the connection. Needs fd.tcp and fd.sock's lastsnd/lastrcv.
 */
export function awaitsReply(fd: FdEntry): boolean {
  const s = fd.sock;
  if (!fd.tcp || s?.lastsndMs === undefined || s.lastrcvMs === undefined) return false;
  const [snd, rcv] = [s.lastsndMs, s.lastrcvMs];
  return fd.tcp.rxQueue === 0 && (snd < rcv || (snd === rcv && s.bytesReceived === 0));
}

/**
 * Whether someone waits on a process outside any lock chain: it holds a connection accepted from
 * a listener, a client whose request it serves (TCP: a local port something listens on; UNIX: a
 * connected socket that carries the listener's name). False only when every socket it holds is
 * known and none is one: a connected client socket (journald's stdout, a supervisor's socketpair)
 * is not. A socket that is neither TCP nor a known UNIX one (UDP, netlink, another netns) leaves
 * it unknown: undefined.
 */
export function servesClient(p: ProcessSample | undefined, isInbound: (p: ProcessSample, tcp: TcpSocket) => boolean): boolean | undefined {
  if (!p?.fds) return undefined;
  let unknown = false;
  for (const fd of p.fds) {
    if (fd.tcp) {
      if (fd.tcp.state !== 'LISTEN' && isInbound(p, fd.tcp)) return true;
    } else if (fd.unix) {
      if (!fd.unix.listening && fd.unix.path !== undefined && fd.unix.state === 'CONNECTED') return true;
    } else if (fd.type === 'socket') unknown = true;
  }
  return unknown ? undefined : false;
}

export function isIdle(p: ProcessSample): boolean {
  return isIdleWait(p.wait, p.fds);
}

/**
 * The workers of a pre-forked pool: processes named `comm` whose parent is also named `comm` and is
 * itself not the child of one (the master). Apache's children are `apache2` under an `apache2`
 * master; PHP-FPM's are `php-fpm8.2` (their cmdline `php-fpm: pool www`) under the `php-fpm: master
 * process`. nginx's workers are named `nginx`: never counted in a PHP-FPM pool.
 */
export function poolWorkers(sample: Sample, comm: string): ProcessSample[] {
  const named = [...sample.processes.values()].filter((p) => p.command === comm);
  const pids = new Set(named.map((p) => p.pid));
  const masters = new Set(named.filter((p) => p.ppid === undefined || !pids.has(p.ppid)).map((p) => p.pid));
  return named.filter((p) => p.ppid !== undefined && masters.has(p.ppid)).sort((a, b) => a.pid - b.pid);
}

export interface PoolOccupancy {
  busy: number;
  size: number;
  /** Each worker's state and what it does: idle (waits for connections) or not. */
  workers: Array<{ pid: number; state: string; idle: boolean; syscall?: string }>;
}

/** Busy = every pool worker that is not idle (a worker whose wait is unreadable counts as busy). */
export function poolOccupancy(sample: Sample, comm: string): PoolOccupancy {
  const workers = poolWorkers(sample, comm).map((p) => ({ pid: p.pid, state: p.state, idle: isIdle(p), syscall: p.syscallText }));
  return { busy: workers.filter((w) => !w.idle).length, size: workers.length, workers };
}
