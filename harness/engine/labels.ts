import { readFileSync, readlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/** Every container and network faultline creates carries RUN_LABEL=<run id>. */
export const RUN_LABEL = 'dev.faultline.run';
/**
 * Owner process, so a later run can tell whether the run that made a resource is still alive:
 * the kernel boot, the PID namespace, the pid in it and that process's start time (ownerIsGone).
 */
export const PID_LABEL = 'dev.faultline.pid';
export const PID_START_LABEL = 'dev.faultline.pid-start';
export const BOOT_LABEL = 'dev.faultline.boot';
export const PID_NS_LABEL = 'dev.faultline.pidns';
/** For people reading `docker inspect`; since boot ids, no longer part of the liveness decision. */
export const HOST_LABEL = 'dev.faultline.host';
/** Role of a container in a topology (toxiproxy, web, storage-1, sidecar ...). */
export const ROLE_LABEL = 'dev.faultline.role';
/** For sidecars: the container whose namespaces they share. */
export const TARGET_LABEL = 'dev.faultline.target';
/** Images: which faultline image, and how it was obtained. */
export const IMAGE_LABEL = 'dev.faultline.image';
export const SOURCE_LABEL = 'dev.faultline.source';

/** Start time of a process in clock ticks since boot (field 22 of /proc/PID/stat), or undefined. */
export function processStartTicks(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may contain spaces and parentheses: split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

/**
 * What this process can observe about processes, the facts ownerIsGone weighs labels against.
 * A parameter, so the decision can be checked against other kernels and namespaces.
 */
export interface ProcessView {
  /** /proc/sys/kernel/random/boot_id: one value per kernel boot, shared by every container on it. */
  bootId?: string;
  /** Inode of /proc/self/ns/pid: which PID namespace our pids are numbers in. */
  pidNamespace?: string;
  /** Whether /proc hides other users' processes (hidepid), so an absent pid proves nothing. */
  hidesPids: boolean;
  startTicks(pid: number): string | undefined;
}

export function localProcessView(): ProcessView {
  return { bootId: bootId(), pidNamespace: pidNamespace(), hidesPids: procHidesPids(), startTicks: processStartTicks };
}

function bootId(): string | undefined {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

function pidNamespace(): string | undefined {
  try {
    return /^pid:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/pid'))?.[1];
  } catch {
    return undefined;
  }
}

function procHidesPids(): boolean {
  try {
    const proc = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .find((line) => line.split(' ')[4] === '/proc');
    const hidepid = /(?:^|[ ,])hidepid=([^ ,]+)/.exec(proc ?? '')?.[1];
    return hidepid !== undefined && hidepid !== '0' && hidepid !== 'off';
  } catch {
    return false;
  }
}

export interface RunIdentity {
  runId: string;
  labels: Record<string, string>;
}

/** A fresh run identity: an id plus the labels that let a later run judge whether we are alive. */
export function newRun(prefix = 'fl', view: ProcessView = localProcessView()): RunIdentity {
  const runId = `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const labels: Record<string, string> = {
    [RUN_LABEL]: runId,
    [PID_LABEL]: String(process.pid),
    [HOST_LABEL]: hostname(),
  };
  const start = view.startTicks(process.pid);
  if (start) labels[PID_START_LABEL] = start;
  if (view.bootId) labels[BOOT_LABEL] = view.bootId;
  if (view.pidNamespace) labels[PID_NS_LABEL] = view.pidNamespace;
  return { runId, labels };
}

/**
 * Whether the process that created a resource with these labels is gone, so its leftovers can go.
 * Every doubt answers "not gone": a wrong "gone" removes a live run's containers mid-scenario, a
 * wrong "alive" leaves containers for `faultline clean --all`.
 *
 * What the labels prove: within one kernel boot (boot id) and one PID namespace (the inode of
 * /proc/self/ns/pid), a pid plus its start time in ticks since boot names one process for the
 * whole boot; if /proc/PID is absent or started at another tick, that process has exited.
 * What they cannot prove:
 * - A run on another kernel (another boot id: a VM or host sharing the engine, or this machine
 *   before a reboot) cannot be looked up from here: not judged. Leftovers from before a reboot
 *   are stopped containers that `faultline clean --all` removes.
 * - A run in another PID namespace on this kernel (a CI job in its own container, a sibling
 *   container) has pids that mean nothing here, or other processes: not judged either. Hostname +
 *   pid, what labels held before boot ids, could not tell such a run from ours and swept it.
 * - With hidepid on /proc, another user's process looks absent: not judged.
 * Labels of older runs (no boot id) are judged as before, on hostname + pid + start time.
 */
export function ownerIsGone(labels: Record<string, string | undefined>, view: ProcessView = localProcessView()): boolean {
  const pid = Number(labels[PID_LABEL]);
  const validPid = Number.isInteger(pid) && pid > 0;
  if (labels[BOOT_LABEL] === undefined) return legacyOwnerIsGone(labels, pid, validPid, view);

  if (!view.bootId || labels[BOOT_LABEL] !== view.bootId) return false;
  if (!view.pidNamespace || labels[PID_NS_LABEL] !== view.pidNamespace) return false;
  if (!validPid || labels[PID_START_LABEL] === undefined) return false; // not labels faultline writes
  const start = view.startTicks(pid);
  if (start === undefined) return !view.hidesPids;
  // Same pid, different start time: the pid was reused by another process.
  return labels[PID_START_LABEL] !== start;
}

function legacyOwnerIsGone(labels: Record<string, string | undefined>, pid: number, validPid: boolean, view: ProcessView): boolean {
  if (labels[HOST_LABEL] !== hostname()) return false; // another machine's run: not ours to judge
  if (!validPid) return true;
  const start = view.startTicks(pid);
  if (start === undefined) return !view.hidesPids;
  return labels[PID_START_LABEL] !== undefined && labels[PID_START_LABEL] !== start;
}
