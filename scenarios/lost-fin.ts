import { lostFin, partition, synBlackhole } from '../harness/faults/packet';
import { toxic } from '../harness/faults/proxy';
import type { Fault } from '../harness/faults/fault';
import type { UserRequest } from '../harness/probes/users';
import { knobQuery, type KnobSpec, type Settings } from '../harness/scenario/knobs';
import { keepaliveHoldMs, type QueueModelInput } from '../harness/sweep/model';
import type { Scenario, ScenarioContext, Variant } from '../harness/scenario/types';
import { runSchedule } from '../harness/scenario/schedule';
import { hangsUntilFixed } from '../harness/scenario/variants';
import { APP_TIMEOUT_KNOBS, KEEPALIVE_KNOBS, FILE_SESSION_CHAIN, numberSetting, responsiveMinMs } from './common';

/**
 * The shape of incident 1 of the brief. A worker reads a profile from the `profile` backend while
 * holding the user's PHP session lock, and the fault keeps that read (or connect) from ever
 * returning. The user reloads (same cookie); every reload blocks on that lock in another worker,
 * until the pool is full and nothing answers — while the CPU stays idle.
 */
const OBSERVE_MS = 10_000;
const RELOAD_EVERY_MS = 500;
const PROFILE = { kind: 'profile', path: '/profile.php' };

/** The load and timing of profileUnderFault, as knobs. */
export const PROFILE_LOAD_KNOBS: readonly KnobSpec[] = [
  { name: 'workers', type: 'int', unit: 'workers', min: 2, max: 64, default: 8, reaches: { kind: 'pool-size' }, summary: "the web's worker pool size" },
  { name: 'reload_every_ms', type: 'int', unit: 'ms', min: 50, max: 10_000, default: RELOAD_EVERY_MS, reaches: { kind: 'load-rate', what: "alice's reloads (same session)" }, summary: 'how often the user reloads during the fault' },
  { name: 'observe_ms', type: 'int', unit: 'ms', min: 4000, max: 40_000, default: OBSERVE_MS, reaches: { kind: 'scenario', what: 'observe phase' }, summary: 'how long the fault is observed under load (the verdict window)' },
  {
    name: 'recovery_limit_s', type: 'int', unit: 's', min: 0, max: 180, default: 0, zero: 'do not measure',
    reaches: { kind: 'scenario', what: 'recover phase' },
    summary: 'after the heal, wait up to this long for health to answer again (recoveryMs)',
  },
];

/** Every knob of the bundled profile scenarios: the app's timeouts, keepalive, load and timing. */
export const PROFILE_KNOBS: readonly KnobSpec[] = [...APP_TIMEOUT_KNOBS, ...KEEPALIVE_KNOBS, ...PROFILE_LOAD_KNOBS];

/**
 * The common schedule with alice reloading her profile under the fault (a browser that gives up
 * after 2 s and reloads, same cookie). `app` names the endpoints of a web tier that is not the
 * bundled one (a user's app with the same bug class); `recoveryLimitMs` measures the recovery
 * after the heal (default: the `recovery_limit_s` knob, 0 = do not measure).
 */
export async function profileUnderFault(
  ctx: ScenarioContext,
  fault: Fault,
  app: { profile?: { kind: string; path: string }; health?: UserRequest; recoveryLimitMs?: number } = {},
): Promise<void> {
  // Knobs that reach the app per request (timeouts, the lock, keepalive) go on the query string;
  // a scenario without them (a user's app) sends the paths unchanged.
  const query = knobQuery(APP_TIMEOUT_KNOBS, ctx.settings);
  const base = app.profile ?? PROFILE;
  const profile = query ? { ...base, path: `${base.path}${base.path.includes('?') ? '&' : '?'}${query}` } : base;
  const maxMs = numberSetting(ctx, 'observe_ms', OBSERVE_MS);
  const reloadEveryMs = numberSetting(ctx, 'reload_every_ms', RELOAD_EVERY_MS);
  await runSchedule(ctx, {
    steady: { users: [{ name: 'alice', ...profile }, { name: 'bob', ...profile }] },
    health: app.health,
    fault,
    // alice's request meets the fault; she gives up after 2 s and reloads, as a browser user does.
    load: () => ctx.loop({ ...profile, deadlineMs: 2000 }, reloadEveryMs, ctx.user('alice')),
    observe: { maxMs, minMs: responsiveMinMs(ctx.topo.web.maxWorkers, reloadEveryMs, maxMs) },
    // The heal ends the fault, not its damage: a worker whose FIN was lost stays blocked until the
    // peer's FIN is retransmitted through, or (once the peer has forgotten the connection) a
    // keepalive probe is answered with a reset. See the README's keepalive section.
    recover: { limitMs: app.recoveryLimitMs ?? numberSetting(ctx, 'recovery_limit_s', 0) * 1000 },
  });
}

/** The bundled app's defaults per variant (containers/web/app/profile.php). */
const APP_DEFAULTS: Record<Variant, { lock: boolean; read: number; connect: number; deadline: number }> = {
  incident: { lock: true, read: 0, connect: 0, deadline: 0 },
  fixed: { lock: false, read: 2000, connect: 2000, deadline: 3000 },
};

/**
 * The queueing model's view of a profile scenario: how long the fault holds the upstream call
 * (`faultHoldMs`), which of the app's limits cut it (`limits`: read and/or connect timeouts).
 */
export function profileQueueModel(faultHoldMs: (s: Settings) => number, limits: Array<'read' | 'connect'>) {
  return (s: Settings, variant: Variant): QueueModelInput => {
    const d = APP_DEFAULTS[variant];
    const num = (name: string, fallback: number) => (typeof s[name] === 'number' ? (s[name] as number) : fallback);
    return {
      workers: num('workers', 8),
      reloadEveryMs: num('reload_every_ms', RELOAD_EVERY_MS),
      lockAcrossIo: typeof s.lock_across_io === 'boolean' ? s.lock_across_io : d.lock,
      faultHoldMs: faultHoldMs(s),
      limitsMs: [
        ...limits.map((l) => (l === 'read' ? num('read_timeout_ms', d.read) : num('connect_timeout_ms', d.connect))),
        num('deadline_ms', d.deadline),
        // Keepalive ends a half-open read once the peer has forgotten the connection.
        s.keepalive === true && limits.includes('read') ? keepaliveHoldMs(num('keepalive_time_s', 7200), num('peer_orphan_retries', 0)) : undefined,
      ],
      observeMs: num('observe_ms', OBSERVE_MS),
    };
  };
}

/** Linux gives up an unanswered connect() after tcp_syn_retries = 6: 1+2+4+...+64 s. */
const KERNEL_SYN_GIVE_UP_MS = 127_000;

const profileVariants = (kind: string) => hangsUntilFixed({ service: 'profile', kind, chain: FILE_SESSION_CHAIN });

export const lostFinScenario: Scenario = {
  name: 'lost-fin',
  summary: "profile backend's FIN lost (iptables in the web's netns) while a worker reads; the user reloads",
  shows: 'incident 1: every worker blocked on a PHP session lock held by a worker reading a half-open socket',
  variants: profileVariants('silent-peer'),
  knobs: PROFILE_KNOBS,
  // A lost FIN holds the read for ever (keepalive aside: see the README).
  queueModel: profileQueueModel(() => Infinity, ['read']),
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
  variants: profileVariants('silent-peer'),
  knobs: [
    ...PROFILE_KNOBS,
    {
      name: 'fin_delay_ms', type: 'int', unit: 'ms', min: 0, max: 600_000, default: 60_000,
      reaches: { kind: 'fault-severity', fault: 'slow_close', param: 'delay' },
      summary: "how late the profile backend's FIN reaches the web (the fault's severity)",
    },
  ],
  queueModel: profileQueueModel((s) => (typeof s.fin_delay_ms === 'number' ? s.fin_delay_ms : 60_000), ['read']),
  run: (ctx) => profileUnderFault(ctx, toxic('profile', 'slow_close', { delay: numberSetting(ctx, 'fin_delay_ms', 60_000) })),
};

/**
 * SYNs to the profile backend vanish (a firewall dropping them, a dead host behind a stale
 * address). With no connect timeout, connect() waits as long as the kernel retries (~130 s).
 */
export const connectBlackholeScenario: Scenario = {
  name: 'connect-blackhole',
  summary: "SYNs to the profile backend dropped on arrival (iptables in Toxiproxy's netns); connect() never completes",
  shows: 'a worker stuck in connect() holding the session lock; the fixed code has a connect timeout',
  variants: profileVariants('connect-stall'),
  knobs: PROFILE_KNOBS,
  queueModel: profileQueueModel(() => KERNEL_SYN_GIVE_UP_MS, ['connect']),
  run: (ctx) => profileUnderFault(ctx, synBlackhole('profile')),
};

/**
 * The same cut as connect-blackhole, but rejecting: every packet between the web and the profile
 * backend is answered with a TCP reset (a firewall's REJECT, a host that is up with nothing
 * listening). connect() is refused at once, so even the incident code, with no timeout at all,
 * answers 502 in milliseconds and lets go of the session lock: the pool stays responsive. What a
 * timeout guards against is a path that drops; one that rejects is noticed without one.
 */
export const partitionRejectScenario: Scenario = {
  name: 'partition-reject',
  summary: 'the web partitioned from the profile backend with TCP resets (partition behavior: reject)',
  shows: 'a rejecting partition needs no timeout: connects are refused at once and even the incident code stays responsive',
  variants: {
    incident: { expected: 'responsive' },
    fixed: { expected: 'responsive' },
  },
  knobs: PROFILE_KNOBS,
  // A refused connect holds the worker for about a round trip.
  queueModel: profileQueueModel(() => 1, ['connect']),
  run: (ctx) => profileUnderFault(ctx, partition('profile', { behavior: 'reject' })),
};
