/**
 * The reader of a live procfs (the host's /proc by default, or one mounted at another root): every
 * read of a sample on demand, straight from the files, with the kernel's task clocks (cpu-clock.ts)
 * and its sock_diag and unix_diag through ss (procfs-sockets.ts).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { LocalCpuClock } from './cpu-clock';
import {
  errorCode,
  monotonicMs,
  type FdLink,
  type FdListResult,
  type MemResult,
  type ProcReader,
  type ProcSnapshot,
  type ReadResult,
  type SnapshotHint,
  type TidListResult,
  type UnixDiagResult,
} from './procfs-types';
import { localSockets, localUnixDiag, ssAsync } from './procfs-sockets';
import type { SockDiagResult } from './sockdiag';
import { type Arch, normalizeArch } from './syscalls';

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
    return (this.unixDiagResult ??= localUnixDiag(this.root));
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
