/**
 * Where the diagnoser reads a procfs from. A `ProcReader` hands out one `ProcSnapshot` per sample;
 * all reads of a sample go through that snapshot and are synchronous, so the analysis code is the
 * same whether the files come from the local /proc (read on demand), a fixture tree, or a dump
 * taken in one exec inside a sidecar (see container.ts).
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalCpuClock } from './cpu-clock';
import { parseSs, type SockDiagResult } from './sockdiag';
import { type Arch, normalizeArch } from './syscalls';

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

/** Reads a procfs mounted at `root` (the host's /proc by default) on demand. */
export class LocalProcReader implements ProcReader {
  readonly description: string;
  private readonly arch: Arch;

  constructor(
    readonly root = '/proc',
    options: { arch?: Arch } = {},
  ) {
    this.description = root === '/proc' ? 'local /proc' : `procfs at ${root}`;
    // The kernel's machine (uname -m), not Node's build: syscall numbers are the kernel's ABI.
    this.archName = os.machine();
    this.arch = options.arch ?? normalizeArch(this.archName) ?? 'unknown';
    this.clock = root === '/proc' ? new LocalCpuClock() : undefined;
  }

  private readonly archName: string;
  /** The live kernel's task clocks; a procfs mounted elsewhere may be another machine's. */
  private readonly clock: LocalCpuClock | undefined;

  async snapshot(hint: SnapshotHint = {}): Promise<ProcSnapshot> {
    this.clock?.newSnapshot();
    const snap = new LocalSnapshot(this.root, this.arch, this.root === '/proc' ? selfAndAncestors(this.root) : new Set(), this.archName, this.clock);
    if (hint.sockets && this.root === '/proc') snap.prefetchOwnNetns();
    return snap;
  }
}

const SS_ARGS = ['-tinHe'];

/** Runs ss in faultline's own netns without blocking: ~10 ms of a process spawn, overlapped with the /proc reads. */
function ssAsync(): Promise<SockDiagResult> {
  return new Promise((resolve) => {
    execFile('ss', SS_ARGS, { encoding: 'utf8', timeout: 5000, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      if (error) {
        const code = errorCode(error);
        resolve({ ok: false, reason: code === 'ENOENT' ? 'ss is not installed (iproute2)' : `ss ${SS_ARGS.join(' ')} failed: ${String(stderr).trim().split('\n')[0] || code}` });
      } else resolve({ ok: true, byInode: parseSs(stdout), via: 'ss -tinHe' });
    });
  });
}

/** ss, run in the target's netns: directly when it is ours, through nsenter when root. */
function localSockets(root: string, pid: number, ownNetns?: SockDiagResult): SockDiagResult {
  if (root !== '/proc') return { ok: false, reason: `sock_diag reads the live kernel, not the procfs at ${root}` };
  let theirs: string;
  let ours: string;
  try {
    theirs = fs.readlinkSync(path.join(root, `${pid}/ns/net`));
    ours = fs.readlinkSync(path.join(root, 'self/ns/net'));
  } catch (e) {
    return { ok: false, reason: `its network namespace is unreadable (${errorCode(e)})` };
  }
  if (theirs === ours && ownNetns) return ownNetns;
  const root0 = typeof process.geteuid === 'function' && process.geteuid() === 0;
  if (theirs !== ours && !root0) return { ok: false, reason: 'it runs in another network namespace, which only root can enter (nsenter)' };
  const argv = theirs === ours ? ['ss', '-tinHe'] : ['nsenter', `--net=${root}/${pid}/ns/net`, 'ss', '-tinHe'];
  const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: 'utf8', timeout: 5000, maxBuffer: 64 << 20 });
  if (r.error) {
    const code = errorCode(r.error);
    return { ok: false, reason: code === 'ENOENT' ? `${argv[0]} is not installed (iproute2${argv[0] === 'nsenter' ? ', util-linux' : ''})` : `${argv[0]} failed (${code})` };
  }
  if (r.status !== 0) return { ok: false, reason: `${argv.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n')[0] ?? ''}` };
  return { ok: true, byInode: parseSs(r.stdout), via: theirs === ours ? 'ss -tinHe' : 'nsenter --net ss -tinHe' };
}

export class LocalSnapshot implements ProcSnapshot {
  readonly takenAtMs = monotonicMs();

  constructor(
    protected readonly root: string,
    readonly arch: Arch,
    readonly ownPids: ReadonlySet<number>,
    readonly archName?: string,
    private readonly clock?: LocalCpuClock,
  ) {}

  clockLagMs(cpu: number): number | undefined {
    return this.clock?.lagMs(cpu);
  }

  protected abs(relPath: string): string {
    return path.join(this.root, relPath);
  }

  private prefetch: Promise<SockDiagResult> | undefined;
  private prefetched: SockDiagResult | undefined;

  /** Starts ss for faultline's own netns now; `socketsReady` waits for it. */
  prefetchOwnNetns(): void {
    this.prefetch = ssAsync().then((r) => (this.prefetched = r));
  }

  async socketsReady(): Promise<void> {
    await this.prefetch;
  }

  sockets(pid: number): SockDiagResult {
    return localSockets(this.root, pid, this.prefetched);
  }

  listPids(): number[] {
    try {
      return fs
        .readdirSync(this.root)
        .filter((name) => /^[0-9]+$/.test(name))
        .map(Number)
        .sort((a, b) => a - b);
    } catch {
      return [];
    }
  }

  read(relPath: string): ReadResult {
    try {
      return { ok: true, text: readSmallFile(this.abs(relPath)) };
    } catch (e) {
      return { ok: false, error: errorCode(e) };
    }
  }

  readLink(relPath: string): ReadResult {
    try {
      return { ok: true, text: fs.readlinkSync(this.abs(relPath)) };
    } catch (e) {
      return { ok: false, error: errorCode(e) };
    }
  }

  listFds(pid: number): FdListResult {
    let names: string[];
    try {
      names = fs.readdirSync(this.abs(`${pid}/fd`));
    } catch (e) {
      return { ok: false, error: errorCode(e) };
    }
    const fds: FdLink[] = [];
    for (const name of names) {
      if (!/^[0-9]+$/.test(name)) continue;
      const link = this.readLink(`${pid}/fd/${name}`);
      // An fd closed between readdir and readlink is simply skipped.
      if (link.ok) fds.push({ fd: Number(name), target: link.text });
    }
    return { ok: true, fds: fds.sort((a, b) => a.fd - b.fd) };
  }

  listTids(pid: number): TidListResult {
    try {
      const tids = fs
        .readdirSync(this.abs(`${pid}/task`))
        .filter((name) => /^[0-9]+$/.test(name))
        .map(Number)
        .sort((a, b) => a - b);
      return { ok: true, tids };
    } catch (e) {
      return { ok: false, error: errorCode(e) };
    }
  }

  private unixDiagResult: UnixDiagResult | undefined;

  /** `ss -xHn`, run at most once per sample, and only for the host's own /proc. */
  unixDiag(): UnixDiagResult {
    if (this.unixDiagResult) return this.unixDiagResult;
    if (this.root !== '/proc') return (this.unixDiagResult = { ok: false, error: 'ENOTSUP' });
    try {
      const netns = fs.readlinkSync('/proc/self/ns/net');
      // ss lists every UNIX socket of the netns (~1 ms per thousand); 2 s bounds a wedged one.
      const text = execFileSync('ss', ['-xHn'], { encoding: 'utf8', timeout: 2000, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
      this.unixDiagResult = { ok: true, text, netns };
    } catch (e) {
      this.unixDiagResult = { ok: false, error: errorCode(e) };
    }
    return this.unixDiagResult;
  }

  readMem(pid: number, address: bigint, length: number): MemResult {
    let fd: number | undefined;
    try {
      fd = fs.openSync(this.abs(`${pid}/mem`), 'r');
      const bytes = Buffer.alloc(length);
      const n = fs.readSync(fd, bytes, 0, length, address);
      return { ok: true, bytes: bytes.subarray(0, n) };
    } catch (e) {
      return { ok: false, error: errorCode(e) };
    } finally {
      if (fd !== undefined) fs.closeSync(fd);
    }
  }
}

// One shared buffer: /proc files report size 0, so readFileSync's fstat and growing buffers are
// wasted work, and a 200-process sample reads ~2000 of them.
const scratch = Buffer.alloc(1 << 16);

function readSmallFile(file: string): string {
  const fd = fs.openSync(file, 'r');
  try {
    let total = 0;
    const chunks: Buffer[] = [];
    for (;;) {
      const n = fs.readSync(fd, scratch, total, scratch.length - total, null);
      if (n === 0) break;
      total += n;
      if (total === scratch.length) {
        chunks.push(Buffer.from(scratch));
        total = 0;
      }
    }
    if (chunks.length === 0) return scratch.toString('utf8', 0, total);
    chunks.push(Buffer.from(scratch.subarray(0, total)));
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    fs.closeSync(fd);
  }
}

/** The diagnosing process and its ancestors: their command lines contain the --match pattern. */
export function selfAndAncestors(root: string, startPid = process.pid): Set<number> {
  const own = new Set<number>();
  let pid = startPid;
  while (pid > 0 && !own.has(pid)) {
    own.add(pid);
    try {
      const stat = fs.readFileSync(path.join(root, `${pid}/stat`), 'utf8');
      const after = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      pid = Number(after[1]);
    } catch {
      break;
    }
  }
  return own;
}

/**
 * A recorded /proc tree (test fixtures). Differences from a live procfs, because symlinks to sockets
 * and process memory cannot be stored in git:
 * - `PID/fd.links`: one `N -> target` line per open fd (used when `PID/fd/` is absent);
 * - any link (e.g. `PID/ns/net`) may be a regular file holding the link's target;
 * - `PID/mem.hex`: `0xADDRESS hexbytes…` lines;
 * - `PID/<file>.error`: holds an errno (EACCES, EPERM, ESRCH …) the read of `<file>` fails with;
 * - `PID/task/TID/`: the threads of a multi-threaded process (stat, status, syscall, wchan, sched);
 *   a TID directory without its stat is a thread that exited mid-scan;
 * - `arch`: `x86_64` or `aarch64`; `own-pids`: PIDs the reader would run as;
 * - `ss-x`: a recorded `ss -xHn`, first line `# netns net:[…]` (UNIX sockets' peers);
 * - `arch`: `x86_64`, `aarch64`, or another machine name (not decoded); `own-pids`: PIDs the reader would run as;
 * - `ss`: `ss -tinHe` output for every netns of the sample (absent: socket times unavailable);
 * - the sample's time is its recorded `uptime`.
 * Several roots make several samples: snapshot i reads roots[min(i, n-1)].
 */
export class FixtureProcReader implements ProcReader {
  readonly description: string;
  private next = 0;
  private readonly roots: string[];

  constructor(roots: string | string[]) {
    this.roots = Array.isArray(roots) ? roots : [roots];
    if (this.roots.length === 0) throw new Error('FixtureProcReader needs at least one root');
    this.description = `fixture ${this.roots[0]}`;
  }

  async snapshot(): Promise<ProcSnapshot> {
    const root = this.roots[Math.min(this.next, this.roots.length - 1)] as string;
    this.next += 1;
    let arch: Arch = 'x86_64';
    let archName = 'x86_64';
    try {
      archName = fs.readFileSync(path.join(root, 'arch'), 'utf8').trim();
      arch = normalizeArch(archName) ?? 'unknown';
    } catch {
      /* default: the trees recorded before `arch` existed are x86_64 */
    }
    const own = new Set<number>();
    try {
      for (const word of fs.readFileSync(path.join(root, 'own-pids'), 'utf8').split(/\s+/)) {
        if (/^[0-9]+$/.test(word)) own.add(Number(word));
      }
    } catch {
      /* none */
    }
    return new FixtureSnapshot(root, arch, own, archName);
  }
}

class FixtureSnapshot extends LocalSnapshot {
  // A recorded tree's time is the /proc/uptime it recorded, so spans match the recording.
  override readonly takenAtMs = ((): number => {
    try {
      const seconds = Number(fs.readFileSync(path.join(this.root, 'uptime'), 'utf8').trim().split(/\s+/)[0]);
      return Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : monotonicMs();
    } catch {
      return monotonicMs();
    }
  })();

  override sockets(): SockDiagResult {
    const text = super.read('ss');
    return text.ok ? { ok: true, byInode: parseSs(text.text), via: 'recorded ss -tinHe' } : { ok: false, reason: 'not recorded in this fixture' };
  }

  private injectedError(relPath: string): string | undefined {
    try {
      return fs.readFileSync(this.abs(`${relPath}.error`), 'utf8').trim() || 'EIO';
    } catch {
      return undefined;
    }
  }

  override read(relPath: string): ReadResult {
    const error = this.injectedError(relPath);
    return error ? { ok: false, error } : super.read(relPath);
  }

  override readLink(relPath: string): ReadResult {
    const error = this.injectedError(relPath);
    if (error) return { ok: false, error };
    try {
      if (fs.lstatSync(this.abs(relPath)).isFile()) {
        return { ok: true, text: fs.readFileSync(this.abs(relPath), 'utf8').trim() };
      }
    } catch {
      /* fall through to a real readlink */
    }
    return super.readLink(relPath);
  }

  override listFds(pid: number): FdListResult {
    const error = this.injectedError(`${pid}/fd`);
    if (error) return { ok: false, error };
    const manifest = super.read(`${pid}/fd.links`);
    if (!manifest.ok) return super.listFds(pid);
    const fds: FdLink[] = [];
    for (const line of manifest.text.split('\n')) {
      const m = /^\s*([0-9]+)\s*->\s*(.*?)\s*$/.exec(line);
      if (m) fds.push({ fd: Number(m[1]), target: m[2] as string });
    }
    return { ok: true, fds };
  }

  override listTids(pid: number): TidListResult {
    const error = this.injectedError(`${pid}/task`);
    return error ? { ok: false, error } : super.listTids(pid);
  }

  /** A recorded `ss -xHn` is the file `ss-x`, its first line `# netns net:[…]`. */
  override unixDiag(): UnixDiagResult {
    const r = this.read('ss-x');
    if (!r.ok) return r;
    const netns = /^# netns (\S+)/.exec(r.text)?.[1] ?? 'unknown';
    return { ok: true, text: r.text, netns };
  }

  override readMem(pid: number, address: bigint, length: number): MemResult {
    const error = this.injectedError(`${pid}/mem`);
    if (error) return { ok: false, error };
    const manifest = super.read(`${pid}/mem.hex`);
    if (!manifest.ok) return { ok: false, error: manifest.error };
    for (const line of manifest.text.split('\n')) {
      const m = /^\s*(0x[0-9a-fA-F]+)\s+([0-9a-fA-F\s]*)$/.exec(line);
      if (!m) continue;
      const base = BigInt(m[1] as string);
      const bytes = Buffer.from((m[2] as string).replace(/\s+/g, ''), 'hex');
      const offset = address - base;
      if (offset >= 0n && offset < BigInt(bytes.length)) {
        const start = Number(offset);
        return { ok: true, bytes: bytes.subarray(start, Math.min(bytes.length, start + length)) };
      }
    }
    return { ok: false, error: 'EIO' };
  }
}
