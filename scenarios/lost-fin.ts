import { lostFin } from '../harness/faults/packet';
import { toxic } from '../harness/faults/proxy';
import type { Fault } from '../harness/faults/fault';
import type { Scenario, ScenarioContext } from '../harness/scenario/types';
import { measureRecovery, steadyState } from './common';

/**
 * Incident 1 of the brief. A worker reads a profile from the `profile` backend until the peer
 * closes; the backend's FIN is lost, so the connection stays ESTABLISHED and the read never
 * returns. The worker holds the user's PHP session lock; the user reloads (same cookie), every
 * reload blocks on that lock in another worker, until the pool is full and nothing answers —
 * while the CPU stays idle.
 */
const OBSERVE_MS = 14_000;
const RETRY_EVERY_MS = 800;

async function run(ctx: ScenarioContext, fault: Fault): Promise<void> {
  const profile = { kind: 'profile', path: '/profile.php' };
  await steadyState(ctx, { durationMs: 2000, users: [{ name: 'alice', ...profile }, { name: 'bob', ...profile }] });

  const active = await ctx.phase('inject', () => ctx.inject(fault));

  await ctx.phase('observe', async () => {
    // alice's request reads the profile while the FIN is lost; she gives up after 2 s and reloads.
    const alice = ctx.user('alice');
    const reloads = ctx.loop({ ...profile, deadlineMs: 2000 }, RETRY_EVERY_MS, alice);
    await ctx.sleep(OBSERVE_MS - 2000);
    await ctx.diagnose();
    await ctx.sleep(2000);
    await reloads.stop();
  });

  await ctx.phase('heal', () => active.heal());
  await measureRecovery(ctx, 30_000);
}

export const lostFinScenario: Scenario = {
  name: 'lost-fin',
  summary: "profile backend's FIN lost (iptables in the web's netns) while a worker reads; the user reloads",
  shows: 'incident 1: every worker blocked on a PHP session lock held by a worker reading a half-open socket',
  variants: {
    incident: { expected: 'hung', culprit: { service: 'profile', kind: 'half-open-read' } },
    fixed: { expected: 'responsive' },
  },
  run: (ctx) => run(ctx, lostFin('profile')),
};

/**
 * The proxy-level approximation: Toxiproxy's slow_close delays the close toward the web (a late
 * FIN, not a lost one). It hangs the incident code the same way while the delay lasts, but the
 * FIN does come eventually, and Toxiproxy's side of the connection stays open meanwhile (no FIN
 * is retransmitted on the wire), so the web's socket is what a lost FIN leaves too.
 */
export const lostFinSlowCloseScenario: Scenario = {
  name: 'lost-fin-slow-close',
  summary: 'proxy-level approximation of lost-fin: Toxiproxy slow_close delays the FIN by 60 s',
  shows: 'incident 1 without iptables: a delayed FIN (Toxiproxy slow_close) instead of a lost one',
  variants: lostFinScenario.variants,
  run: (ctx) => run(ctx, toxic('profile', 'slow_close', { delay: 60_000 })),
};
