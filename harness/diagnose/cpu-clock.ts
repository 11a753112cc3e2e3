/**
 * How long a sleeping task has not run comes from `/proc/PID/sched`'s `se.exec_start`: the time, on
 * the scheduler's task clock of the CPU it last ran on, when it last left that CPU. That clock is
 * not /proc/uptime: it leaves out the time the CPU spent in interrupts and the time the hypervisor
 * stole from it, so it lags behind uptime by a different amount on each CPU, and the lag grows with
 * uptime. Measured on this 2-core VM after 16 h: 20.1 s on CPU 0, 21.2 s on CPU 1. Read as
 * `uptime − exec_start`, a worker asleep for 1.7 s showed 22 s, and one that slept first looked
 * younger than three that queued after it because it had run on the other CPU (the corpus'
 * db-rowlock-api case named a waiter, one CI run in twenty).
 *
 * The lag of a CPU is measured directly: a task that runs on that CPU (taskset -c N) reads
 * /proc/uptime and its own sched; its exec_start is "now" on that CPU's task clock, to a scheduler
 * tick. Subtracting the lag of the CPU a task last ran on (/proc/PID/stat field 39) gives its real
 * sleep. Where the lag cannot be measured (no taskset, a recorded tree), ages stay as read, capped
 * by how long the task has existed.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { parseSchedExecStart, parseStat, parseUptimeSeconds } from './parse';

/** What a probe on one CPU prints: `/proc/uptime`, its own `/proc/self/stat`, its own `/proc/self/sched`. */
export const PROBE_FILES = ['/proc/uptime', '/proc/self/stat', '/proc/self/sched'] as const;

/**
 * The lag (ms) of the task clock behind uptime on the CPU a probe ran on, from the three files it
 * printed concatenated; undefined when the text is not that or the probe ran elsewhere.
 */
export function parseProbe(text: string, cpu: number): number | undefined {
  const lines = text.split('\n');
  const uptime = parseUptimeSeconds(lines[0] ?? '');
  const stat = parseStat(lines[1] ?? '');
  const execStart = parseSchedExecStart(lines.slice(2).join('\n'));
  if (uptime === undefined || execStart === undefined || stat?.processor !== cpu) return undefined;
  return Math.max(0, uptime * 1000 - execStart);
}

/**
 * Per CPU, the jiffies it has spent in interrupts and stolen by the hypervisor (`/proc/stat`
 * irq + softirq + steal): the time its task clock leaves out. While they stand still, so does the lag.
 */
export function parseLeftOutTicks(procStat: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of procStat.split('\n')) {
    const m = /^cpu([0-9]+) +(.*)$/.exec(line);
    if (!m) continue;
    const w = (m[2] as string).split(/\s+/).map(Number);
    out.set(Number(m[1]), (w[5] ?? 0) + (w[6] ?? 0) + (w[7] ?? 0));
  }
  return out;
}

/**
 * The local clock and a sidecar re-measure a CPU once its left-out time moved this many jiffies
 * (20 ms), or after MAX_AGE_MS.
 */
const MOVED_TICKS = 2;
/** …or after this long in any case. */
const MAX_AGE_MS = 5 * 60_000;

interface Measured {
  /** Undefined: the probe failed (taskset refused the CPU, say); kept too, so it is not retried per process. */
  lagMs: number | undefined;
  leftOut: number | undefined;
  atMs: number;
}

/**
 * The local machine's task-clock lag per CPU, measured with taskset on first use and then kept
 * while the CPU's interrupt and steal time (/proc/stat, cumulative) stands still, as the sidecar
 * does (MOVED_TICKS), and for at most MAX_AGE_MS. Whether the lag grows with that time depends on
 * the kernel (IRQ_TIME_ACCOUNTING, paravirt steal): measured on this VM, 490 ms of loopback
 * softirq moved it by under 7 ms and 20 quiet seconds by under 5, so adding the growth would be
 * wrong here and right elsewhere; a fresh probe once it moved is right on both. A quiet host (1
 * jiffy of interrupts in 20 s in CI) thus spawns one probe per CPU every few minutes instead of one
 * per sample. One per reader: its `lagMs` answers for the snapshot being read.
 */
export class LocalCpuClock {
  private readonly measured = new Map<number, Measured>();
  private leftOut: Map<number, number> | undefined;
  private tasksetMissing = false;

  /** Called once per snapshot: the left-out time is read again (one small file) on first use. */
  newSnapshot(): void {
    this.leftOut = undefined;
  }

  lagMs(cpu: number): number | undefined {
    if (!Number.isInteger(cpu) || cpu < 0) return undefined;
    this.leftOut ??= readLeftOut();
    const now = Date.now();
    const left = this.leftOut.get(cpu);
    const known = this.measured.get(cpu);
    if (known && now - known.atMs < MAX_AGE_MS) {
      if (known.lagMs === undefined) return undefined;
      if (left !== undefined && known.leftOut !== undefined && left >= known.leftOut && left - known.leftOut < MOVED_TICKS) return known.lagMs;
    }
    const lag = this.probe(cpu);
    this.measured.set(cpu, { lagMs: lag, leftOut: left, atMs: now });
    return lag;
  }

  /** A fresh probe of one CPU, nothing kept (to check the carried value against). */
  probeNow(cpu: number): number | undefined {
    return this.probe(cpu);
  }

  private probe(cpu: number): number | undefined {
    if (!this.tasksetMissing) {
      try {
        const text = execFileSync('taskset', ['-c', String(cpu), 'cat', ...PROBE_FILES], { encoding: 'utf8', timeout: 2000, stdio: ['ignore', 'pipe', 'ignore'] });
        return parseProbe(text, cpu);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') this.tasksetMissing = true;
        else return undefined;
      }
    }
    // No taskset: this thread's own reading serves the CPU it happens to be running on.
    try {
      const text = ['/proc/uptime', '/proc/thread-self/stat', '/proc/thread-self/sched'].map((f) => fs.readFileSync(f, 'utf8')).join('');
      return parseProbe(text, cpu);
    } catch {
      return undefined;
    }
  }
}

function readLeftOut(): Map<number, number> {
  try {
    return parseLeftOutTicks(fs.readFileSync('/proc/stat', 'utf8'));
  } catch {
    return new Map();
  }
}

/** Where a sidecar keeps each CPU's last probe between samples: `<prefix>N`, first line the left-out ticks. */
export const PROBE_CACHE = '/tmp/.faultline-clock.';

/**
 * The shell lines a container reader runs to measure the lag of each CPU listed in `$CPUS`: per
 * CPU, `@@clock N` then the probe's output. A container without taskset prints `@@clock-missing`.
 * With `cache` (a sidecar: its /tmp is faultline's own) a CPU is probed again only once its irq,
 * softirq or steal time moved MOVED_TICKS or its probe is older than 5 min, as the local clock
 * does: one awk and one find per sample instead of a taskset per CPU. Without it (an exec in the
 * target itself, which faultline leaves as it found it) every CPU is probed each sample.
 */
export function probeScript(cache: boolean): string {
  const probe = `taskset -c "$c" cat ${PROBE_FILES.join(' ')} 2>/dev/null | sed -n '1,2p;/^se[.]exec_start/p'`;
  if (!cache) return `if command -v taskset >/dev/null 2>&1; then for c in $CPUS; do echo "@@clock $c"; ${probe}; done; else echo '@@clock-missing'; fi`;
  return `if command -v taskset >/dev/null 2>&1; then
find /tmp -maxdepth 1 -name '${PROBE_CACHE.slice('/tmp/'.length)}*' -mmin +${MAX_AGE_MS / 60_000} -exec rm -f {} + 2>/dev/null
awk -v cpus="$CPUS" -v pre='${PROBE_CACHE}' 'BEGIN { n = split(cpus, a, " "); for (i = 1; i <= n; i++) want["cpu" a[i]] = 1 }
$1 in want { c = substr($1, 4); lo = $7 + $8 + $9; f = pre c; stale = 1; if ((getline line < f) > 0) { split(line, w, " "); if (lo - w[1] < ${MOVED_TICKS}) stale = 0 }; close(f); if (stale) print c, lo }' /proc/stat | while read -r c lo; do { echo "$lo"; ${probe}; } >"${PROBE_CACHE}$c.$$" && mv -f "${PROBE_CACHE}$c.$$" "${PROBE_CACHE}$c"; done
for c in $CPUS; do echo "@@clock $c"; tail -n +2 "${PROBE_CACHE}$c" 2>/dev/null; done
else echo '@@clock-missing'; fi`;
}
