/**
 * A ProcReader that runs inside a container (normally a toolbox sidecar sharing the target's PID
 * and network namespaces, with SYS_PTRACE: the `kubectl debug` pattern). One `exec` per sample
 * runs a POSIX-sh script (the toolbox has no node or python: sh + grep/find/awk/dd/od only) that
 * prints every file the analysis needs, delimited, and the snapshot serves reads from that dump.
 * One exec per file would cost ~100 ms each: far over the 500 ms budget of a container diagnosis.
 * Multi-threaded processes (stat field 20 > 1) also get their threads' task/TID/stat, syscall,
 * wchan, status and sched in the same run; single-threaded ones (most pools) cost nothing more.
 */
import { parseProbe } from './cpu-clock';
import { type Dump, parseDump } from './container-dump';
import { collectorScript } from './container-script';
import { parseStat } from './parse';
import {
  monotonicMs,
  type FdListResult,
  type MemResult,
  type ProcReader,
  type ProcSnapshot,
  type ReadResult,
  type TidListResult,
} from './procfs';
import { parseSs, type SockDiagResult } from './sockdiag';
import type { Arch } from './syscalls';

export { collectorScript } from './container-script';
export { parseDump } from './container-dump';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Anything that can run argv in the container: a faultline Sidecar, or a docker CLI wrapper. */
export interface Execer {
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
}

export interface ContainerReaderOptions {
  /** For messages, e.g. the target container's name. */
  name?: string;
  /**
   * The exec runs in a sidecar (its own mount namespace): processes in the script's mount
   * namespace are the sidecar's, not the target's, and are left out. False when the exec runs in
   * the target container itself (then only the script and its children are left out).
   */
  sidecar?: boolean;
  timeoutMs?: number;
}

const PER_PID_FILE = /^([0-9]+)\/(stat|status|syscall|wchan|io|cmdline|sched|fdinfo\/[0-9]+)$/;
const PER_TASK_FILE = /^([0-9]+\/task\/[0-9]+)\/(status|syscall|wchan|sched)$/;

class DumpSnapshot implements ProcSnapshot {
  readonly arch: Arch;
  readonly archName: string;
  private sockDiag: SockDiagResult | undefined;
  readonly ownPids: ReadonlySet<number>;
  private readonly pidSet: Set<number>;
  private readonly selfNet: string | undefined;

  constructor(
    private readonly dump: Dump,
    readonly takenAtMs: number,
    sidecar: boolean,
  ) {
    this.arch = dump.arch;
    this.archName = dump.archName;
    this.pidSet = new Set(dump.pids);
    this.selfNet = dump.links.get('self/ns/net');
    const own = new Set<number>();
    const selfMnt = dump.links.get('self/ns/mnt');
    for (const pid of dump.pids) {
      if (pid === dump.self) own.add(pid);
      else if (sidecar && selfMnt !== undefined && dump.links.get(`${pid}/ns/mnt`) === selfMnt) own.add(pid);
      else {
        // The script's own children (grep, find, awk, dd …).
        const stat = dump.files.get(`${pid}/stat`);
        const ppid = stat ? parseStat(stat)?.ppid : undefined;
        if (ppid === dump.self) own.add(pid);
      }
    }
    this.ownPids = own;
  }

  /** ss ran in the sidecar's netns: it covers the processes that share it (normally all). */
  sockets(pid: number): SockDiagResult {
    const ns = this.dump.links.get(`${pid}/ns/net`);
    if (ns !== undefined && this.selfNet !== undefined && ns !== this.selfNet) {
      return { ok: false, reason: 'it runs in another network namespace than the sidecar' };
    }
    const ss = this.dump.ss;
    if ('missing' in ss) return { ok: false, reason: ss.missing };
    this.sockDiag ??= { ok: true, byInode: parseSs(ss.text), via: 'ss -tinHe in the sidecar' };
    return this.sockDiag;
  }

  private readonly lags = new Map<number, number | undefined>();

  /** Parsed once per CPU: every process that last ran there asks. */
  clockLagMs(cpu: number): number | undefined {
    if (!this.lags.has(cpu)) {
      const text = this.dump.clock.get(cpu);
      this.lags.set(cpu, text === undefined ? undefined : parseProbe(text, cpu));
    }
    return this.lags.get(cpu);
  }

  listPids(): number[] {
    return [...this.dump.pids].sort((a, b) => a - b);
  }

  read(relPath: string): ReadResult {
    const net = /^([0-9]+)\/net\/(tcp6?)$/.exec(relPath);
    if (net) {
      const direct = this.dump.nets.get(relPath);
      if (direct !== undefined) return { ok: true, text: direct };
      const ns = this.dump.links.get(`${net[1]}/ns/net`);
      if (ns === undefined || ns === this.selfNet) {
        const self = this.dump.nets.get(`self/net/${net[2]}`);
        if (self !== undefined) return { ok: true, text: self };
      }
      return { ok: false, error: this.dump.errors.get(relPath) ?? 'ENOENT' };
    }
    const text = this.dump.files.get(relPath);
    if (text !== undefined) return { ok: true, text };
    const error = this.dump.errors.get(relPath);
    if (error) return { ok: false, error };
    const m = PER_PID_FILE.exec(relPath);
    // grep prints nothing for an empty file (a kernel thread's cmdline): present, but empty.
    if (m && this.pidSet.has(Number(m[1])) && this.dump.complete && this.dump.files.has(`${m[1]}/stat`)) {
      return { ok: true, text: '' };
    }
    // A thread's status and sched lines are filtered by grep: none printed is an empty file too.
    const t = PER_TASK_FILE.exec(relPath);
    if (t && this.dump.complete && this.dump.files.has(`${t[1]}/stat`)) return { ok: true, text: '' };
    return { ok: false, error: 'ENOENT' };
  }

  listTids(pid: number): TidListResult {
    const tids = this.dump.tidsByPid.get(pid);
    if (tids) return { ok: true, tids: [...tids].sort((a, b) => a - b) };
    return { ok: false, error: this.dump.errors.get(`${pid}/task`) ?? 'ENOENT' };
  }

  readLink(relPath: string): ReadResult {
    const target = this.dump.links.get(relPath);
    if (target !== undefined) return { ok: true, text: target };
    return { ok: false, error: this.dump.errors.get(relPath) ?? 'ENOENT' };
  }

  listFds(pid: number): FdListResult {
    const error = this.dump.errors.get(`${pid}/fd`);
    if (error) return { ok: false, error };
    if (!this.pidSet.has(pid)) return { ok: false, error: 'ENOENT' };
    return { ok: true, fds: [...(this.dump.fdsByPid.get(pid) ?? [])].sort((a, b) => a.fd - b.fd) };
  }

  readMem(pid: number, address: bigint, length: number): MemResult {
    for (const m of this.dump.mems) {
      if (m.pid !== pid) continue;
      const offset = address - m.address;
      if (offset >= 0n && offset + BigInt(length) <= BigInt(m.bytes.length)) {
        const start = Number(offset);
        return { ok: true, bytes: m.bytes.subarray(start, start + length) };
      }
    }
    return { ok: false, error: this.dump.errors.get(`${pid}/mem`) ?? 'ENODATA' };
  }
}

export class ContainerProcReader implements ProcReader {
  readonly description: string;
  private readonly script: string;

  constructor(
    private readonly execer: Execer,
    private readonly options: ContainerReaderOptions = {},
  ) {
    this.description = `container ${options.name ?? ''}${options.sidecar === false ? '' : ' (via sidecar)'}`.replace('  ', ' ');
    // In a sidecar the clock probes may wait in its /tmp between samples; never in the target.
    this.script = collectorScript({ cacheClock: options.sidecar !== false });
  }

  async snapshot(): Promise<ProcSnapshot> {
    const before = monotonicMs();
    const result = await this.execer.exec(['sh', '-c', this.script], { timeoutMs: this.options.timeoutMs ?? 30_000 });
    const after = monotonicMs();
    if (result.exitCode === 97 || !result.stdout.includes('@@pids')) {
      throw new Error(
        `diagnose: the collector script failed in ${this.options.name ?? 'the container'} (exit ${result.exitCode}): ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`,
      );
    }
    return new DumpSnapshot(parseDump(result.stdout), (before + after) / 2, this.options.sidecar !== false);
  }
}
