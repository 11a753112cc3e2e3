/**
 * The seam the diagnoser reads a procfs through (see procfs.ts): the `ProcReader` and `ProcSnapshot`
 * interfaces, their result types, what a failed read's errno means, and the harness's own clock.
 * Every reader (local, fixture, container) implements these; none of it touches a filesystem.
 */
import { performance } from 'node:perf_hooks';
import type { SockDiagResult } from './sockdiag';
import type { Arch } from './syscalls';

// Captured at load so that fake timers in a user's test cannot freeze the harness.
const now = performance.now.bind(performance);
const realSetTimeout = globalThis.setTimeout;

export const monotonicMs = (): number => now();
export const sleepMs = (ms: number): Promise<void> =>
  new Promise((resolve) => realSetTimeout(resolve, Math.max(0, ms)));

/** errno-like code of a read that failed: EACCES/EPERM mean "needs privilege", ENOENT/ESRCH "gone". */
export type ReadError = string;

export type ReadResult = { ok: true; text: string } | { ok: false; error: ReadError };
export type FdListResult = { ok: true; fds: FdLink[] } | { ok: false; error: ReadError };
export type MemResult = { ok: true; bytes: Buffer } | { ok: false; error: ReadError };
export type TidListResult = { ok: true; tids: number[] } | { ok: false; error: ReadError };

export interface FdLink {
  fd: number;
  /** readlink of /proc/PID/fd/N: a path, `socket:[INODE]`, `pipe:[INODE]`, `anon_inode:[eventpoll]` … */
  target: string;
}

/** One sample of a procfs. Paths are relative to the procfs root: `locks`, `123/stat`, `123/net/tcp`. */
export interface ProcSnapshot {
  /** The target kernel's architecture, 'unknown' when faultline cannot decode its syscalls. */
  readonly arch: Arch;
  /** The machine name as the target reported it (`uname -m`): says which arch was not decoded. */
  readonly archName?: string;
  /** Monotonic time the sample was taken (ms). */
  readonly takenAtMs: number;
  /** PIDs the reader itself runs as (the diagnosing process and its ancestors, or the sidecar's). */
  readonly ownPids: ReadonlySet<number>;
  listPids(): number[];
  read(relPath: string): ReadResult;
  readLink(relPath: string): ReadResult;
  listFds(pid: number): FdListResult;
  /**
   * The thread IDs in /proc/PID/task (the main thread's is the pid). Optional: a snapshot without
   * it is read main thread only. Per-thread files are read as `PID/task/TID/stat` & co.
   */
  listTids?(pid: number): TidListResult;
  /** Bytes of the process's memory (for pollfd arrays and fd_sets); needs ptrace access. */
  readMem(pid: number, address: bigint, length: number): MemResult;
  /**
   * diag-rules (unix-sockets.ts): `ss -xHn` in the reader's own network namespace — the kernel's
   * unix_diag, the only place a UNIX socket's peer inode and queues show — and which netns that is
   * (`net:[…]`, as /proc/PID/ns/net reads). Optional: without it UNIX sockets have no peer.
   */
  unixDiag?(): UnixDiagResult;
  /**
   * How far (ms) the scheduler's task clock of a CPU lags behind /proc/uptime (cpu-clock.ts): what
   * a sched's exec_start must be corrected by. Optional: without it ages are read uncorrected.
   */
  clockLagMs?(cpu: number): number | undefined;
  /**
   * sock_diag's view of the TCP sockets in the network namespace of `pid` (see sockdiag.ts).
   * Optional: without it socket times are unavailable, and the diagnosis says so.
   */
  sockets?(pid: number): SockDiagResult;
  /** Resolves once sock_diag started for the hint has finished (no-op when none was started). */
  socketsReady?(): Promise<void>;
}

export type UnixDiagResult = { ok: true; text: string; netns: string } | { ok: false; error: ReadError };

export interface SnapshotHint {
  /** The PIDs the caller cares about, when known: a local reader may read only those. */
  pids?: readonly number[];
  /** The caller will ask for sock_diag (`sockets`): a reader may start it now, beside the /proc reads. */
  sockets?: boolean;
}

export interface ProcReader {
  /** For messages: "local /proc", "container web-1 (via sidecar)", "fixture DIR". */
  readonly description: string;
  snapshot(hint?: SnapshotHint): Promise<ProcSnapshot>;
}

export function errorCode(e: unknown): ReadError {
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'EIO';
}

/** Processes that vanish mid-scan give ENOENT (file) or ESRCH (some /proc files of a dying task). */
export function isGone(error: ReadError): boolean {
  return error === 'ENOENT' || error === 'ESRCH';
}

/** Errors that mean "allowed for root with CAP_SYS_PTRACE, not for us". */
export function isDenied(error: ReadError): boolean {
  return error === 'EACCES' || error === 'EPERM';
}
