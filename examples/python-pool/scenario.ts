import { FaultlineError } from '../../harness/errors';
import { lostFin } from '../../harness/faults/packet';
import type { Scenario, ScenarioContext } from '../../harness/scenario/types';
import { HEALTH_EVERY_MS } from '../../scenarios/common';

/**
 * lost-fin against a user's own app: the pre-forked Python pool in this folder (app.py) instead
 * of the bundled Apache/PHP one. Same fault, same load, same judgement, same diagnosis: the
 * profile backend's FIN is lost while a worker reads it holding alice's session lock (flock on
 * her session file); alice reloads with the same cookie until every worker waits on that lock
 * and /health stops answering.
 *
 * scenarios/common.ts's steadyState and measureRecovery probe the bundled app's /health.php, so
 * this file has its own two, probing /health.
 */
const HEALTH = { kind: 'health', path: '/health', deadlineMs: 2000 } as const;
const PROFILE = { kind: 'profile', path: '/profile' } as const;
const OBSERVE_MS = 14_000;
const RETRY_EVERY_MS = 800;

export const pythonPoolLostFin: Scenario = {
  name: 'python-pool-lost-fin',
  summary: "a user's pre-forked Python pool: profile backend's FIN lost while a worker reads; the user reloads",
  shows: 'incident 1 in an app that is not the bundled one: every Python worker blocked on a session flock held by a worker in recv() on a half-open socket',
  variants: {
    incident: { expected: 'hung', culprit: { service: 'profile', kind: 'half-open-read' } },
    fixed: { expected: 'responsive' },
  },
  // Pool occupancy counts the master's python3 children; the diagnoser starts from app.py's processes.
  workers: { comm: 'python3', match: /app\.py/ },
  topology: (t) => t.withWebDockerfile(__dirname, { name: 'python-pool', healthPath: HEALTH.path }).withMaxWorkers(8),
  async run(ctx) {
    await steadyState(ctx);
    const fault = await ctx.phase('inject', () => ctx.inject(lostFin('profile')));
    await ctx.phase('observe', async () => {
      // alice's request reads her profile while the FIN is lost; she gives up after 2 s and reloads.
      const reloads = ctx.loop({ ...PROFILE, deadlineMs: 2000 }, RETRY_EVERY_MS, ctx.user('alice'));
      await ctx.sleep(OBSERVE_MS - 2000);
      await ctx.diagnose();
      await ctx.sleep(2000);
      await reloads.stop();
    });
    await ctx.phase('heal', () => fault.heal());
    await measureRecovery(ctx, 30_000);
  },
};

/** The health loop runs for the whole scenario; alice and bob each read their profile once. */
async function steadyState(ctx: ScenarioContext): Promise<void> {
  await ctx.phase('steady', async () => {
    ctx.loop(HEALTH, HEALTH_EVERY_MS);
    for (const name of ['alice', 'bob']) {
      const r = await ctx.user(name).request({ ...PROFILE, deadlineMs: 5000 });
      if (r.outcome !== 'ok') {
        throw new FaultlineError(
          'FAULTLINE_SCENARIO_FAILED',
          `${ctx.scenario}: steady state not reached: ${name}'s ${PROFILE.path} answered ${r.status ?? r.error} ${r.body.slice(0, 120)}`,
        );
      }
    }
    await ctx.sleep(2000);
    const failed = ctx.history.select('health').filter((r) => r.outcome !== 'ok');
    if (failed.length > 0) {
      throw new FaultlineError('FAULTLINE_SCENARIO_FAILED', `${ctx.scenario}: steady state not reached: ${failed.length} health requests failed before any fault`);
    }
  });
}

/** After the heal: how long until /health answers again (reported, not judged). */
async function measureRecovery(ctx: ScenarioContext, limitMs: number): Promise<void> {
  await ctx.phase('recover', async () => {
    const from = ctx.history.now();
    while (ctx.history.now() - from < limitMs) {
      const r = await ctx.user(`recovery-${Math.round(ctx.history.now())}`).request({ ...HEALTH, kind: 'recovery', deadlineMs: 1000 });
      if (r.outcome === 'ok') {
        ctx.note('recovered', `health answered ${Math.round(ctx.history.now() - from)} ms after heal`);
        return;
      }
      await ctx.sleep(250);
    }
    ctx.note('not-recovered', `health still failing ${limitMs} ms after heal`);
  });
}
