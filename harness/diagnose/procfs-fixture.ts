/**
 * The reader of recorded /proc trees (the test fixtures, which bench/bounds.ts also reads): a
 * LocalSnapshot over the recorded files, with the stand-ins a git tree needs for what it cannot
 * store (fd links, memory, injected read errors, recorded ss output, uptime), as listed below.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LocalSnapshot } from './procfs-local';
import {
  monotonicMs,
  type FdLink,
  type FdListResult,
  type MemResult,
  type ProcReader,
  type ProcSnapshot,
  type ReadResult,
  type TidListResult,
  type UnixDiagResult,
} from './procfs-types';
import { parseSs, type SockDiagResult } from './sockdiag';
import { type Arch, normalizeArch } from './syscalls';

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
