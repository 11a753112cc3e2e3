import { FaultlineError } from '../harness/errors';
import type { ScenarioContext } from '../harness/scenario/types';
import type { LoadLoop, UserRequest } from '../harness/probes/users';
import type { KnobSpec } from '../harness/scenario/knobs';

/** Health probe: a fresh visitor every 250 ms, giving up after 2 s like an impatient browser. */
export const HEALTH: UserRequest = { kind: 'health', path: '/health.php', deadlineMs: 2000 };
export const HEALTH_EVERY_MS = 250;

/**
 * Steady state: the health probe runs, and each named user's request succeeds. Returns the
 * health loop (it keeps running until the scenario ends).
 */
export async function steadyState(
  ctx: ScenarioContext,
  opts: { durationMs: number; users: Array<{ name: string; kind: string; path: string }>; health?: UserRequest },
): Promise<LoadLoop> {
  return ctx.phase('steady', async () => {
    const health = ctx.loop(opts.health ?? HEALTH, HEALTH_EVERY_MS);
    for (const u of opts.users) {
      const r = await ctx.user(u.name).request({ kind: u.kind, path: u.path, deadlineMs: 5000 });
      if (r.outcome !== 'ok') {
        throw new FaultlineError(
          'FAULTLINE_SCENARIO_FAILED',
          `${ctx.scenario}: steady state not reached: ${u.name}'s ${u.path} answered ${r.status ?? r.error} ${r.body.slice(0, 120)}`,
        );
      }
    }
    await ctx.sleep(opts.durationMs);
    const failed = ctx.history.select('health').filter((r) => r.outcome !== 'ok');
    if (failed.length > 0) {
      throw new FaultlineError('FAULTLINE_SCENARIO_FAILED', `${ctx.scenario}: steady state not reached: ${failed.length} health requests failed before any fault`);
    }
    return health;
  });
}

/**
 * After the heal: waits (bounded) until a health request answers again and notes how long that
 * took. Recovery is reported, not judged, unless a scenario makes it its point.
 */
export async function measureRecovery(ctx: ScenarioContext, limitMs: number, health: UserRequest = HEALTH): Promise<number | undefined> {
  return ctx.phase('recover', async () => {
    const from = ctx.history.now();
    while (ctx.history.now() - from < limitMs) {
      const r = await ctx.user(`recovery-${Math.round(ctx.history.now())}`).request({ ...health, kind: 'recovery', deadlineMs: 1000 });
      if (r.outcome === 'ok') {
        const ms = Math.round(ctx.history.now() - from);
        ctx.recordRecovery(ms);
        ctx.note('recovered', `health answered ${ms} ms after heal`);
        return ms;
      }
      await ctx.sleep(250);
    }
    ctx.note('not-recovered', `health still failing ${limitMs} ms after heal`);
    return undefined;
  });
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
