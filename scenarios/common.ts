import { FaultlineError } from '../harness/errors';
import type { ScenarioContext } from '../harness/scenario/types';
import type { LoadLoop, UserRequest } from '../harness/probes/users';

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
