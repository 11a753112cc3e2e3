import { lostFin, synBlackhole } from '../harness/faults/packet';
import { toxic } from '../harness/faults/proxy';
import type { Fault } from '../harness/faults/fault';
import type { UserRequest } from '../harness/probes/users';
import type { Scenario, ScenarioContext, VariantSpec, Variant } from '../harness/scenario/types';
import { steadyState } from './common';

/**
 * The shape of incident 1 of the brief. A worker reads a profile from the `profile` backend while
 * holding the user's PHP session lock, and the fault keeps that read (or connect) from ever
 * returning. The user reloads (same cookie); every reload blocks on that lock in another worker,
 * until the pool is full and nothing answers — while the CPU stays idle.
 */
const OBSERVE_MS = 10_000;
const RELOAD_EVERY_MS = 500;
const PROFILE = { kind: 'profile', path: '/profile.php' };

/**
 * Steady state, then the fault while alice reloads her profile. `app` names the endpoints of a
 * web tier that is not the bundled one (a user's app with the same bug class).
 */
export async function profileUnderFault(
  ctx: ScenarioContext,
  fault: Fault,
  app: { profile?: { kind: string; path: string }; health?: UserRequest } = {},
): Promise<void> {
  const profile = app.profile ?? PROFILE;
  await steadyState(ctx, { durationMs: 1500, users: [{ name: 'alice', ...profile }, { name: 'bob', ...profile }], health: app.health });
  const active = await ctx.phase('inject', () => ctx.inject(fault));
  await ctx.phase('observe', async () => {
    // alice's request meets the fault; she gives up after 2 s and reloads, as a browser user does.
    const reloads = ctx.loop({ ...profile, deadlineMs: 2000 }, RELOAD_EVERY_MS, ctx.user('alice'));
    await ctx.sleep(OBSERVE_MS - 2000);
    await ctx.diagnose();
    await ctx.sleep(2000);
    await reloads.stop();
  });
  await ctx.phase('heal', () => active.heal());
}

const profileVariants = (kind: string): Record<Variant, VariantSpec> => ({
  incident: { expected: 'hung', culprit: { service: 'profile', kind } },
  fixed: { expected: 'responsive' },
});

export const lostFinScenario: Scenario = {
  name: 'lost-fin',
  summary: "profile backend's FIN lost (iptables in the web's netns) while a worker reads; the user reloads",
  shows: 'incident 1: every worker blocked on a PHP session lock held by a worker reading a half-open socket',
  variants: profileVariants('half-open-read'),
  run: (ctx) => profileUnderFault(ctx, lostFin('profile')),
};

/**
 * The proxy-level approximation: Toxiproxy's slow_close delays the close toward the web (a late
 * FIN, not a lost one). It hangs the incident code the same way while the delay lasts, but the
 * FIN does come eventually, and Toxiproxy's side of the connection stays open meanwhile (no FIN
 * is sent, so none is retransmitted), where a lost FIN leaves the peer retransmitting it.
 */
export const lostFinSlowCloseScenario: Scenario = {
  name: 'lost-fin-slow-close',
  summary: 'proxy-level approximation of lost-fin: Toxiproxy slow_close delays the FIN by 60 s',
  shows: 'incident 1 without iptables: a delayed FIN (Toxiproxy slow_close) instead of a lost one',
  variants: profileVariants('half-open-read'),
  run: (ctx) => profileUnderFault(ctx, toxic('profile', 'slow_close', { delay: 60_000 })),
};

/**
 * SYNs to the profile backend vanish (a firewall dropping them, a dead host behind a stale
 * address). With no connect timeout, connect() waits as long as the kernel retries (~130 s).
 */
export const connectBlackholeScenario: Scenario = {
  name: 'connect-blackhole',
  summary: "SYNs to the profile backend dropped (iptables in the web's netns); connect() never completes",
  shows: 'a worker stuck in connect() holding the session lock; the fixed code has a connect timeout',
  variants: profileVariants('connect-stall'),
  run: (ctx) => profileUnderFault(ctx, synBlackhole('profile')),
};
