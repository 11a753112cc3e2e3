/**
 * Which thread explains a multi-threaded process's wait. The collector reads every thread of such a
 * process; the analysis reasons about one wait per process, so the thread that says most about
 * why the process does not progress is shown as the process (its state, CPU time, wake-ups,
 * syscall and wait), in every sample, so that samples compare like with like.
 */
import type { FdEntry, ProcessSample, Sample, TaskFacts, ThreadSample } from './model';
import { isIdleWait, isListeningTarget } from './worker';

/**
 * How well a thread's wait explains why its process does not progress (higher is better): a lock
 * wait or a socket wait says what the process waits for; a thread running with its CPU time rising
 * is a busy-loop candidate; sleeping says a clock; futex, wait4, join … only say "another thread".
 */
function threadRank(t: ThreadSample, fds: FdEntry[] | undefined, cpuRise: number | undefined): number {
  const w = t.wait;
  const running = w.type === 'running' || (t.state === 'R' && (w.type === 'unknown' || w.type === 'not-in-syscall'));
  // CPU rise unknown (one sample, or a thread new in the last one): running may be a busy loop.
  if (running) return cpuRise === undefined || cpuRise > 0 ? 40 : 5;
  switch (w.type) {
    case 'lock':
      return 60;
    case 'io': {
      const entries = w.targets.map((target) => ({ target, fd: fds?.find((f) => f.fd === target.fd) }));
      const listening = (e: (typeof entries)[number]): boolean => isListeningTarget(e.target, e.fd);
      if (entries.length === 0) return 10;
      if (isIdleWait(w, fds)) return 15; // an acceptor thread: idle, but more telling than futex
      if (entries.some((e) => !listening(e) && (e.fd?.tcp !== undefined || e.fd?.type === 'socket' || e.target.direction === 'connect'))) return 50;
      return 30;
    }
    case 'sleep':
      return 20;
    case 'other':
    case 'not-in-syscall':
      return 10;
    default:
      return 0;
  }
}

/**
 * For each multi-threaded process, the thread that explains its wait (see threadRank; ties: the
 * same wait in every sample, then the main thread, then the one that has not run the longest, then
 * the lowest TID), chosen from the last sample it appears in. Returns new samples in which that
 * thread's facts are shown as the process's wherever the process has it; the input is not changed.
 */
export function pickThreads(samples: readonly Sample[]): Sample[] {
  const picked = new Map<number, number>();
  for (const pid of new Set(samples.flatMap((s) => [...s.processes].filter(([, p]) => p.tasks).map(([pid]) => pid)))) {
    const tid = bestThread(pid, samples.map((s) => s.processes.get(pid)));
    if (tid !== undefined) picked.set(pid, tid);
  }
  if (picked.size === 0) return [...samples];
  return samples.map((s) => {
    const processes = new Map(s.processes);
    for (const [pid, tid] of picked) {
      const p = processes.get(pid);
      const t = p?.tasks?.find((x) => x.tid === tid);
      if (p && t) processes.set(pid, showThread(p, t));
    }
    return { ...s, processes };
  });
}

function bestThread(pid: number, history: Array<ProcessSample | undefined>): number | undefined {
  const newest = [...history].reverse().find((p) => p?.tasks);
  const latest = newest?.tasks;
  if (!latest) return undefined;
  const threadIn = (p: ProcessSample | undefined, tid: number): ThreadSample | undefined => p?.tasks?.find((t) => t.tid === tid);
  let best: { tid: number; key: number[] } | undefined;
  for (const t of latest) {
    const seen = history.map((p) => threadIn(p, t.tid)).filter((x): x is ThreadSample => x !== undefined);
    const t0 = seen[0];
    const rise = t0 && t0 !== t && t0.cpuTicks !== undefined && t.cpuTicks !== undefined ? t.cpuTicks - t0.cpuTicks : undefined;
    const persistent = seen.every((x) => x.syscallText === t.syscallText) ? 1 : 0;
    const key = [threadRank(t, newest.fds, rise), persistent, t.tid === pid ? 1 : 0, t.notRunForMs ?? 0, -t.tid];
    if (!best || compareKeys(key, best.key) > 0) best = { tid: t.tid, key };
  }
  return best?.tid;
}

function compareKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/** The TaskFacts of a process or a thread, copied. */
export function taskFacts(t: TaskFacts): TaskFacts {
  const { state, cpuTicks, voluntaryCtxt, nonvoluntaryCtxt, syscall, syscallText, syscallName, wchan, notRunForMs, wait } = t;
  return { state, cpuTicks, voluntaryCtxt, nonvoluntaryCtxt, syscall, syscallText, syscallName, wchan, notRunForMs, wait };
}

/** A copy of the process that shows the picked thread's wait as its own. */
function showThread(p: ProcessSample, t: ThreadSample): ProcessSample {
  const out: ProcessSample = { ...p, ...taskFacts(t), tid: t.tid };
  if (t.tid !== p.pid && t.comm !== p.command) out.threadComm = t.comm;
  else delete out.threadComm;
  return out;
}
