/**
 * What the collector builds from a procfs sample (ProcessSample, Sample) and what the analysis
 * returns (Diagnosis). The Diagnosis types are the JSON contract documented in README.md.
 */
import type { FdinfoInfo, IoInfo, LockEntry, SyscallLine, TcpSocket, UnixSocket } from './parse';
import type { ChainKind, CulpritKind } from './kinds';
import type { SockDiagResult, SockInfo } from './sockdiag';
import type { Arch } from './syscalls';

export type FdType = 'socket' | 'file' | 'pipe' | 'anon' | 'other';

export interface FdEntry {
  fd: number;
  target: string;
  type: FdType;
  socketInode?: number;
  /** The TCP socket behind this fd, when it is one (looked up in the process's netns). */
  tcp?: TcpSocket;
  /** The UNIX-domain socket behind this fd, when it is one (unix-sockets.ts). */
  unix?: UnixSocket;
  /** Read only where it matters: lock holders' files and epoll fds. */
  fdinfo?: FdinfoInfo;
  /** sock_diag's view of the same socket (last sample only; see sockdiag.ts). */
  sock?: SockInfo;
}

export type IoDirection = 'read' | 'write' | 'connect' | 'accept';

/** How the fd and direction of a wait were found. */
export type WaitSource = 'syscall-arg' | 'pollfd' | 'fd_set' | 'epoll-fdinfo' | 'sockets-fallback';

/** What one process is blocked on, decoded from /proc/PID/syscall (+ mem, fdinfo, fds). */
export type Wait =
  | { type: 'running' }
  | { type: 'lock'; syscall: string; fd?: number }
  | {
      type: 'io';
      syscall: string;
      targets: Array<{ fd: number; direction: IoDirection }>;
      source: WaitSource;
      /** poll/epoll timeout in ms; -1 waits forever. */
      timeoutMs?: number;
      /** Why the precise fds could not be read (then `source` is sockets-fallback). */
      fallbackReason?: string;
    }
  | { type: 'sleep'; syscall: string }
  | { type: 'other'; syscall: string }
  | { type: 'not-in-syscall' }
  | { type: 'unknown'; reason: string };

export interface Unreadable {
  file: string;
  error: string;
}

/**
 * What one task (thread) shows of its wait: a process's main thread fills these in ProcessSample
 * unless another thread explains the wait better (see ProcessSample.tid).
 */
export interface TaskFacts {
  state: string;
  /** utime+stime of this task (task/TID/stat for a thread, /proc/PID/stat for the process). */
  cpuTicks?: number;
  voluntaryCtxt?: number;
  nonvoluntaryCtxt?: number;
  syscall?: SyscallLine;
  /** Human form of the syscall: `recvfrom(fd 5)`, `poll(1 fds, timeout -1)`, `running`. */
  syscallText?: string;
  syscallName?: string;
  wchan?: string;
  /** How long since the task last ran on a CPU (from its sched file and /proc/uptime). */
  notRunForMs?: number;
  wait: Wait;
}

/**
 * One thread of a multi-threaded process (/proc/PID/task/TID/…), read for the processes examined in
 * full. The main thread is among them (tid = pid).
 */
export interface ThreadSample extends TaskFacts {
  tid: number;
  /** The thread's comm (Java and Go name their threads; Python's keep the process's). */
  comm: string;
}

export interface ProcessSample extends TaskFacts {
  pid: number;
  /** comm (the kernel's 15-character name). */
  command: string;
  cmdline: string;
  /** Undefined when stat's field was malformed. */
  ppid?: number;
  uid?: number;
  threads?: number;
  fds?: FdEntry[];
  netns?: string;
  io?: IoInfo;
  unreadable: Unreadable[];
  /**
   * The thread whose facts fill state, cpuTicks, ctxt switches, syscall*, wchan, notRunForMs and
   * wait: the main thread (tid = pid) unless another thread explains the process's wait better
   * (see pickThreads in threads.ts). Undefined when the process was not read at all.
   */
  tid?: number;
  /** That thread's comm, when another thread than the main one was picked. */
  threadComm?: string;
  /** Every thread read (multi-threaded processes examined in full), the main thread first. */
  tasks?: ThreadSample[];
  /** In D state in open/openat: the path it opens, from its memory (disk-wait.ts). */
  diskPath?: string;
  /** It exited while this sample read it (its stat was read, then its other files were gone). */
  vanished?: boolean;
}

export interface Sample {
  index: number;
  takenAtMs: number;
  arch: Arch;
  /** The machine name the target reported (`riscv64` when arch is 'unknown'). */
  archName?: string;
  /** sock_diag by netns key (read in the last sample, for the netns of socket waits only). */
  sockets?: Map<string, SockDiagResult>;
  /** /proc/locks, or undefined if it could not be read. */
  locks?: LockEntry[];
  processes: Map<number, ProcessSample>;
  /** TCP sockets by netns key, then by inode. */
  tcp: Map<string, Map<number, TcpSocket>>;
}

export interface Collected {
  reader: string;
  arch: Arch;
  archName?: string;
  samples: Sample[];
  /** PIDs the user asked about (the lock-connected processes are added to the samples). */
  selected: number[];
  warnings: string[];
}

// ---------------------------------------------------------------------------------------------
// The diagnosis (JSON contract)

export type { ChainKind, CulpritKind };

export interface ResourceReport {
  type: 'tcp' | 'file' | 'socket' | 'pipe' | 'lock' | 'cpu' | 'timer' | 'unknown';
  fd?: number;
  path?: string;
  local?: string;
  remote?: string;
  state?: string;
  txQueue?: number;
  rxQueue?: number;
  timer?: string;
  service?: string;
  /**
   * What the remote port usually is (`postgres` for 5432), when no service name is known: a guess
   * from WELL_KNOWN_PORTS in services.ts, printed as "5432, probably postgres", never as a name.
   */
  serviceGuess?: string;
  /** From sock_diag (`ss -tinHe`), when it could be read: bytes sent and not yet acknowledged. */
  unacked?: number;
  /** Retransmits of the outstanding segment (sock_diag), or /proc/net/tcp's count. */
  retransmits?: number;
  /** Milliseconds since we last sent, last received, and were last acknowledged (sock_diag). */
  lastSendMs?: number;
  lastReceiveMs?: number;
  lastAckMs?: number;
}

export interface LockReport {
  /**
   * FLOCK / POSIX / OFDLCK … and READ / WRITE, as /proc/locks prints them; for an inferred lock
   * (see ChainLink.inferred): `redis-session-lock` or `polled-lock`, access `polled`; `waits-inside`, access
   * `inferred`, for waiters that block inside another service (convoy.ts).
   */
  type: string;
  access: string;
  /** `maj:min:inode` from /proc/locks; for an inferred lock, the service (or ip:port) keeping it. */
  file: string;
  path?: string;
}

export interface ChainLink {
  lock: LockReport;
  holder: number;
  /** PIDs queued directly behind this lock (its `->` lines). */
  waiters: number[];
  /**
   * Set when no kernel lock ties the waiters to the holder (a lock kept in another service, such as
   * phpredis' session lock in Redis): how the link was inferred from what the processes show.
   */
  inferred?: string;
}

export interface ChainReport {
  /** The process at the end of the wait-for chain (for a lock cycle, one of its members). */
  root: number;
  kind: ChainKind;
  /** False for chains that end in an idle worker (accept mutex) or are harmless. */
  culprit: boolean;
  /** Every PID that waits, directly or through other holders, on the root. */
  waiters: number[];
  /**
   * Thread pools (thread-pool.ts): the threads of the root stuck on the same upstream, when they
   * are the workers (a Java or Python pool). Absent for every other chain.
   */
  threads?: number[];
  /** Event loops (event-loop.ts): requests outstanding on the upstream (connections with a request and no reply). */
  requests?: number;
  /** From the root outward: the lock the root holds and its waiters, then the next level … */
  links: ChainLink[];
  /** For a lock cycle: its members in wait order. */
  cycle?: number[];
  resource: ResourceReport;
  syscall: string | null;
  /** The root's thread that `syscall` belongs to (= root for the main thread). */
  tid?: number;
  /** How long the root (its thread `tid`) has waited: since it last ran on a CPU (/proc sched). */
  waitMs?: number;
  evidence: string[];
}

export interface CulpritReport {
  pid: number;
  command: string;
  cmdline: string;
  kind: CulpritKind;
  syscall: string | null;
  /** The thread that `syscall` belongs to: pid itself for the main thread, else the thread that explains the wait. */
  tid?: number;
  resource: ResourceReport;
  /** Locks the culprit holds that others wait for. */
  holds: LockReport[];
  /**
   * Every PID waiting, directly or transitively, on the culprit's locks; for an upstream pile-up
   * without locks, the other workers stuck on the same upstream.
   */
  waiters: number[];
  /** As ChainReport.threads: the culprit's threads stuck on the same upstream (a thread pool). */
  threads?: number[];
  /** As ChainReport.requests: an event loop's requests waiting on the upstream. */
  requests?: number;
  /** How long the culprit (its thread `tid`) has waited: since it last ran on a CPU (/proc sched). */
  waitMs?: number;
  evidence: string[];
}

export type ProcessRole = 'culprit' | 'holder' | 'waiter' | 'idle' | 'other';

export interface ProcessReport {
  pid: number;
  command: string;
  cmdline: string;
  state: string;
  syscall: string | null;
  /** The thread whose state and syscall are shown (= pid for the main thread). */
  tid?: number;
  /** One line: "waits for flock on /tmp/x (held by 123)", "recvfrom fd 5 tcp 10.0.0.2:9000" … */
  wait: string;
  role: ProcessRole;
  /** How long the thread shown has waited (since it last ran on a CPU); absent while it runs or when unreadable. */
  waitMs?: number;
  /** Files that could not be read, with the reason (`syscall: EACCES (needs CAP_SYS_PTRACE)`). */
  unreadable?: string[];
}

export type DiagnosisVerdict = 'stuck' | 'healthy' | 'inconclusive';

export interface Diagnosis {
  /**
   * stuck: a culprit is named. healthy: everything that decides was read, and nothing is stuck.
   * inconclusive: what decides could not be read (see `inconclusive`); never healthy on what it
   * could not see.
   */
  verdict: DiagnosisVerdict;
  /** Only with verdict inconclusive: what could not be read, and what would let it see. */
  inconclusive?: { reasons: string[]; hints: string[] };
  /** A pile-up without a lock (and a lone stuck worker) is a culprit only past this wait. */
  stuckAfterMs: number;
  culprit: CulpritReport | null;
  chains: ChainReport[];
  processes: ProcessReport[];
  samples: number;
  /** Time between the first and the last sample. */
  spanMs: number;
  reader: string;
  /** The target's machine: x86_64 and aarch64 are decoded; any other (riscv64 …) makes it inconclusive. */
  arch: string;
  /** Missing privileges and other limits of this diagnosis. */
  warnings: string[];
}

export interface ServiceRegistry {
  services: Array<{ name: string; addresses: Array<{ host: string; port: number }> }>;
}
