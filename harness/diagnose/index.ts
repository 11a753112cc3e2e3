/**
 * faultline's diagnoser: names the culprit of a hung worker pool from /proc — the chain waiting
 * workers -> lock -> holder -> what the holder is blocked on -> which upstream service.
 *
 *   const d = await diagnose({ match: /apache2|php/, registry });
 *   console.log(renderText(d));
 *
 * A pure library: no jest, testcontainers or CLI imports. See README.md for the JSON contract.
 */
import { analyze, DEFAULT_STUCK_AFTER_MS } from './analyze';
import { collect } from './collect';
import type { Diagnosis, ServiceRegistry } from './model';
import { LocalProcReader, type ProcReader } from './procfs';

export interface DiagnoseOptions {
  /** Where to read /proc from; default: the local /proc. */
  reader?: ProcReader;
  /** Diagnose these PIDs (plus every process lock-connected to them). */
  pids?: readonly number[];
  /** Or the processes whose full command line matches (never the diagnoser itself or its ancestors). */
  match?: RegExp | string;
  /** Samples to take (>= 1; default 2): two tell stuck from slow. */
  samples?: number;
  /** Time between samples (default 250 ms). */
  intervalMs?: number;
  /** Maps a remote ip:port to a service name (the topology's proxies). */
  registry?: ServiceRegistry;
  /** Processes outside any lock chain, waiting on an upstream, are a culprit only past this (default 5 s). */
  stuckAfterMs?: number;
  /** Aborts between samples (the CLI's Ctrl+C). */
  signal?: AbortSignal;
}

export const DEFAULT_SAMPLES = 2;
export const DEFAULT_INTERVAL_MS = 250;

export async function diagnose(options: DiagnoseOptions = {}): Promise<Diagnosis> {
  const reader = options.reader ?? new LocalProcReader();
  const match = typeof options.match === 'string' ? new RegExp(options.match) : options.match;
  const collected = await collect(reader, {
    pids: options.pids,
    match,
    samples: options.samples ?? DEFAULT_SAMPLES,
    intervalMs: options.intervalMs ?? DEFAULT_INTERVAL_MS,
    signal: options.signal,
  });
  return analyze(collected, { registry: options.registry, stuckAfterMs: options.stuckAfterMs ?? DEFAULT_STUCK_AFTER_MS });
}

export { analyze, collect, DEFAULT_STUCK_AFTER_MS };
export { KIND_ALIASES, KIND_MEANING, KINDS, kindMatches } from './kinds';
export { renderJson, renderText, toJson } from './render';
export { isIdle, isIdleWait, poolOccupancy, poolWorkers, type PoolOccupancy } from './worker';
export { ContainerProcReader, collectorScript, type ContainerReaderOptions, type Execer, type ExecResult } from './container';
export { FixtureProcReader, LocalProcReader, type ProcReader, type ProcSnapshot } from './procfs';
export type {
  ChainKind,
  ChainLink,
  ChainReport,
  CulpritKind,
  CulpritReport,
  Diagnosis,
  DiagnosisVerdict,
  LockReport,
  ProcessReport,
  ProcessRole,
  ResourceReport,
  ServiceRegistry,
} from './model';
export { decodeSyscall, normalizeArch, type Arch } from './syscalls';
