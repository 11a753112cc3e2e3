import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';

/** Every container and network faultline creates carries RUN_LABEL=<run id>. */
export const RUN_LABEL = 'dev.faultline.run';
/** Owner process, so a later run can tell whether the run that made a resource is still alive. */
export const PID_LABEL = 'dev.faultline.pid';
export const PID_START_LABEL = 'dev.faultline.pid-start';
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

export interface RunIdentity {
  runId: string;
  labels: Record<string, string>;
}

/** A fresh run identity: an id plus the labels that let a later run judge whether we are alive. */
export function newRun(prefix = 'fl'): RunIdentity {
  const runId = `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`;
  const labels: Record<string, string> = {
    [RUN_LABEL]: runId,
    [PID_LABEL]: String(process.pid),
    [HOST_LABEL]: hostname(),
  };
  const start = processStartTicks(process.pid);
  if (start) labels[PID_START_LABEL] = start;
  return { runId, labels };
}

/** Whether the process that created a resource with these labels is gone (so its leftovers can go). */
export function ownerIsGone(labels: Record<string, string | undefined>): boolean {
  if (labels[HOST_LABEL] !== hostname()) return false; // another machine's run: not ours to judge
  const pid = Number(labels[PID_LABEL]);
  if (!Number.isInteger(pid) || pid <= 0) return true;
  const start = processStartTicks(pid);
  if (start === undefined) return true;
  // Same pid, different start time: the pid was reused by another process.
  return labels[PID_START_LABEL] !== undefined && labels[PID_START_LABEL] !== start;
}
