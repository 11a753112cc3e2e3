import { EARLY_END } from '../harness/scenario/judge';
import type { ScenarioContext } from '../harness/scenario/types';
import type { KnobSpec } from '../harness/scenario/knobs';

// The schedule's pieces live in the harness (harness/scenario/schedule.ts); re-exported here for
// the scenarios and users that import them from this file.
export { HEALTH, HEALTH_EVERY_MS, measureRecovery, steadyState } from '../harness/scenario/schedule';

/**
 * The shortest observe window that may end responsive, for a pool of `workers` filled by one
 * request every `everyMs` (the reloads or retries that pile up behind a held lock): the incident
 * fills the pool after about `workers x everyMs`, its first health request fails `HEALTH`'s 2 s
 * deadline later; 2 s more is the margin. Never below the judge's default minimum (8 s: in the
 * recorded library runs pools filled 3.2-6.0 s in, first failures ended 5.1-7.3 s in).
 */
export function responsiveMinMs(workers: number, everyMs: number, maxMs: number): number {
  return Math.min(maxMs, Math.max(EARLY_END.responsiveMinMs, workers * everyMs + 2000 + 2000));
}

/**
 * The bundled app's per-request settings (containers/web/app/profile.php): absent, each takes the
 * variant's own value (incident: lock held, no limits; fixed: lock released, 2000/2000/3000 ms).
 */
export const APP_TIMEOUT_KNOBS: readonly KnobSpec[] = [
  { name: 'read_timeout_ms', type: 'int', unit: 'ms', min: 0, max: 600_000, zero: 'no limit', reaches: { kind: 'query', name: 'read_timeout_ms' }, summary: 'how long one read of the upstream may wait (stream timeout)' },
  { name: 'connect_timeout_ms', type: 'int', unit: 'ms', min: 0, max: 600_000, zero: 'no limit', reaches: { kind: 'query', name: 'connect_timeout_ms' }, summary: 'how long connecting to the upstream may take' },
  { name: 'deadline_ms', type: 'int', unit: 'ms', min: 0, max: 600_000, zero: 'no limit', reaches: { kind: 'query', name: 'deadline_ms' }, summary: "the whole upstream call's budget (every operation is cut to what is left)" },
  { name: 'lock_across_io', type: 'bool', reaches: { kind: 'query', name: 'lock_across_io' }, summary: 'whether the PHP session lock is held across the upstream call' },
  { name: 'keepalive', type: 'bool', reaches: { kind: 'query', name: 'keepalive' }, summary: "SO_KEEPALIVE on the app's upstream socket (timing: the keepalive_* knobs)" },
];

/** TCP keepalive timing of the web's network namespace (kernel defaults 7200 s, 75 s, 9). */
export const KEEPALIVE_KNOBS: readonly KnobSpec[] = [
  { name: 'keepalive_time_s', type: 'int', unit: 's', min: 1, max: 7200, reaches: { kind: 'web-sysctl', name: 'net.ipv4.tcp_keepalive_time' }, summary: 'idle time before the first keepalive probe (kernel default 7200)' },
  { name: 'keepalive_intvl_s', type: 'int', unit: 's', min: 1, max: 300, reaches: { kind: 'web-sysctl', name: 'net.ipv4.tcp_keepalive_intvl' }, summary: 'time between unanswered probes (kernel default 75)' },
  { name: 'keepalive_probes', type: 'int', unit: 'probes', min: 1, max: 127, reaches: { kind: 'web-sysctl', name: 'net.ipv4.tcp_keepalive_probes' }, summary: 'unanswered probes before the kernel drops the connection (kernel default 9)' },
  {
    name: 'peer_orphan_retries', type: 'int', unit: 'retries', min: 0, max: 15, zero: 'the kernel default: 8 retries, ~100 s',
    reaches: { kind: 'proxy-sysctl', name: 'net.ipv4.tcp_orphan_retries' },
    summary: "how long the upstream side (Toxiproxy) keeps retransmitting a FIN nobody acknowledges before it forgets the connection",
  },
];

/**
 * A numeric knob's value, or the fallback when the scenario does not declare it or leaves it to
 * the variant (shared helpers serve scenarios with and without knobs).
 */
export function numberSetting(ctx: ScenarioContext, name: string, fallback: number): number {
  const v = ctx.settings[name];
  return typeof v === 'number' ? v : fallback;
}

/**
 * The expected chain of the bundled web's incidents: its PHP sessions are files
 * (session.save_handler = files), and session_start() holds flock(LOCK_EX) on the session file
 * for the whole request, so the user's retries queue behind the stuck worker in a kernel FLOCK
 * lock. Every such scenario retries at least every 700 ms for 7 s or more before its diagnosis:
 * at least two wait.
 */
export const FILE_SESSION_CHAIN = { lock: 'FLOCK', minWaiters: 2, inferred: false } as const;
