/**
 * When the diagnosis cannot decide: the facts that would decide could not be read. Then the
 * verdict is `inconclusive`, never `healthy` on what it could not see, with what could not be read
 * and what would let it see (root, --container, CAP_SYS_PTRACE).
 *
 * What decides, per process: what it waits on (its syscall), on which fds (its fd table, and for
 * poll/select the pollfd array or fd_set in its memory), for how long (its sched), whether locks
 * tie it to others (/proc/locks), and the architecture its syscall numbers are read for. A
 * process that waits on a listening socket per its syscall alone (accept) is idle whatever else is
 * unreadable; one whose fds are guesses (memory unreadable) is not.
 */
import type { Collected, ProcessSample, Sample } from './model';
import { isDenied } from './procfs';
import { isIdle } from './worker';

export interface Inconclusive {
  reasons: string[];
  hints: string[];
}

const pidText = (pids: number[]): string => (pids.length > 8 ? `${pids.slice(0, 8).join(', ')} … (${pids.length} processes)` : pids.join(', '));

/** Hints, once each, in a stable order. */
const HINT = {
  privilege:
    'run as root (sudo faultline diagnose …), or give faultline CAP_SYS_PTRACE, so it may read /proc/PID/syscall, fd/, mem and sched of processes it does not own',
  container: 'for a container, use --container NAME: its sidecar joins the PID and network namespaces with CAP_SYS_PTRACE',
  arch: 'faultline decodes syscalls on x86_64 and aarch64 only; diagnose from one of those, or read /proc/PID/syscall by hand with the kernel\'s syscall table',
  again: 'run the diagnosis again: a process exited while it was read',
} as const;

/** Why the processes that matter could not be seen; empty when everything that decides was read. */
export function whatCouldNotBeSeen(collected: Collected, last: Sample, matters: (p: ProcessSample) => boolean): Inconclusive {
  const reasons: string[] = [];
  const hints = new Set<string>();
  if (collected.arch === 'unknown') {
    reasons.push(
      `the target's architecture is ${collected.archName || 'unknown'}: its syscall numbers are not decoded, so what each process waits on cannot be read (never read as x86_64)`,
    );
    hints.add(HINT.arch);
  }
  if (!last.locks && [...last.processes.values()].some(matters)) {
    reasons.push('/proc/locks is unreadable: which process holds a lock others wait for cannot be seen');
    hints.add(HINT.privilege);
  }
  const deniedBy = (file: string): number[] =>
    [...last.processes.values()].filter((p) => matters(p) && p.unreadable.some((u) => u.file === file && isDenied(u.error))).map((p) => p.pid);
  const noSyscall = deniedBy('syscall');
  if (noSyscall.length > 0) {
    reasons.push(`/proc/PID/syscall is unreadable (permission denied) for pid ${pidText(noSyscall)}: what they wait on cannot be seen`);
    hints.add(HINT.privilege).add(HINT.container);
  }
  const noFds = deniedBy('fd').filter((pid) => !noSyscall.includes(pid) && !isIdle(last.processes.get(pid) as ProcessSample));
  if (noFds.length > 0) {
    reasons.push(`/proc/PID/fd is unreadable (permission denied) for pid ${pidText(noFds)}: which socket or file they wait on cannot be seen`);
    hints.add(HINT.privilege).add(HINT.container);
  }
  // A poll/select whose fds were guessed from the process's sockets: an inherited listening
  // socket makes a worker blocked on its upstream look like an event loop or an idle worker.
  const guessed = [...last.processes.values()].filter(
    (p) => matters(p) && p.wait.type === 'io' && p.wait.source === 'sockets-fallback' && p.unreadable.some((u) => u.file === 'mem'),
  );
  if (guessed.length > 0) {
    const why = guessed[0]?.unreadable.find((u) => u.file === 'mem')?.error ?? 'unreadable';
    reasons.push(
      `/proc/PID/mem is unreadable (${why}) for pid ${pidText(guessed.map((p) => p.pid))}, waiting in poll/select: which fds they wait on is a guess from their sockets, and an inherited listening socket would make a stuck worker look idle`,
    );
    hints.add(HINT.privilege).add(HINT.container);
  }
  const vanished = [...last.processes.values()].filter((p) => p.vanished).map((p) => p.pid);
  if (vanished.length > 0) {
    reasons.push(`pid ${pidText(vanished)} exited while the last sample read it: its wait could not be compared`);
    hints.add(HINT.again);
  }
  return { reasons, hints: [...hints] };
}
