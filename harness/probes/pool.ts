import { webSidecar } from '../topology/sidecars';
import type { StartedTopology } from '../topology/topology';

export interface PoolOccupancy {
  busy: number;
  size: number;
  /** pid -> syscall number the worker is in (-1 running, undefined unreadable). */
  workers: Array<{ pid: number; syscall?: number; state: string }>;
}

/** x86_64 accept(43) / accept4(288), aarch64 accept(202) / accept4(242): an idle prefork worker. */
const IDLE_SYSCALLS: Record<string, number[]> = { x86_64: [43, 288], aarch64: [202, 242] };

/**
 * Reads worker occupancy from /proc of the web container, through a sidecar sharing its PID
 * namespace with SYS_PTRACE: when the pool is full, mod_status itself cannot be served, so /proc
 * is the only reliable view. Workers are the children of the pool's master process.
 */
export class PoolProbe {
  private arch?: string;

  constructor(
    private readonly topo: StartedTopology,
    private readonly workerComm = 'apache2',
  ) {}

  async sample(): Promise<PoolOccupancy> {
    const sidecar = await webSidecar(this.topo, 'ptrace');
    // One exec per sample: pid, ppid, state and the syscall line of every worker-named process.
    const script =
      `uname -m; for p in /proc/[0-9]*; do c=$(cat $p/comm 2>/dev/null) || continue; [ "$c" = "${this.workerComm}" ] || continue; ` +
      `s=$(cat $p/stat 2>/dev/null) || continue; sc=$(cut -d' ' -f1 $p/syscall 2>/dev/null); ` +
      `echo "$(basename $p) $(echo "$s" | sed 's/.*) //' | cut -d' ' -f1,2) \${sc:-?}"; done`;
    const r = await sidecar.exec(['sh', '-c', script], { timeoutMs: 10_000 });
    const [archLine, ...lines] = r.stdout.trim().split('\n');
    this.arch ??= archLine.trim();
    const rows = lines
      .map((l) => l.trim().split(/\s+/))
      .filter((f) => f.length >= 4)
      .map(([pid, state, ppid, sc]) => ({
        pid: Number(pid),
        ppid: Number(ppid),
        state,
        syscall: sc === '?' ? undefined : sc === 'running' ? -1 : Number(sc),
      }));
    const pids = new Set(rows.map((w) => w.pid));
    // The master is the worker-named process whose parent is not one of them.
    const masters = new Set(rows.filter((w) => !pids.has(w.ppid)).map((w) => w.pid));
    const workers = rows.filter((w) => masters.has(w.ppid));
    const idle = IDLE_SYSCALLS[this.arch] ?? IDLE_SYSCALLS.x86_64;
    const busy = workers.filter((w) => w.syscall === undefined || !idle.includes(w.syscall)).length;
    return { busy, size: workers.length, workers: workers.map(({ pid, syscall, state }) => ({ pid, syscall, state })) };
  }
}
