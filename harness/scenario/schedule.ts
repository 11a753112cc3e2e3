import { DEFAULT_STUCK_AFTER_MS } from '../diagnose';
import { FaultlineError } from '../errors';
import type { Fault } from '../faults/fault';
import type { LoadLoop, UserRequest } from '../probes/users';
import { settledVerdict } from './judge';
import { PHASE } from './phases';
import type { ScenarioContext } from './types';

/** Health probe: a fresh visitor every 250 ms, giving up after 2 s like an impatient browser. */
export const HEALTH: UserRequest = { kind: 'health', path: '/health.php', deadlineMs: 2000 };
export const HEALTH_EVERY_MS = 250;

/**
 * Steady state is reached once this many health requests answered and none failed. The judge
 * reads only the observe window; the steady phase only proves the app answers before any fault
 * (two answers: the pool serves, and serves again).
 */
export const STEADY_HEALTH_ANSWERS = 2;
/** The steady phase fails when health has not answered that often within this long. */
export const STEADY_LIMIT_MS = 10_000;

/** How often the observe window checks whether its verdict is settled. */
const OBSERVE_POLL_MS = 250;
/**
 * The diagnosis moment: once the pool has been seen full this long (two pool samples, 1 s apart:
 * a pile-up, not one busy instant). Earlier the chain may not have formed; later is only waiting.
 */
export const DIAGNOSE_AFTER_FULL_MS = 1000;
/**
 * …and not before the oldest request can be past the diagnoser's `--stuck-after` (its default
 * 5 s, plus a second for the load's first requests to reach the fault): the diagnoser names a
 * worker on an upstream only once its request is that old, and a pool that filled in 2 s holds
 * requests 3 s old. Lock chains are named at any age; an upstream pile-up is not.
 */
export const DIAGNOSE_NOT_BEFORE_MS = DEFAULT_STUCK_AFTER_MS + 1000;

/**
 * Steady state: the health probe runs, and each named user's request succeeds. Returns the
 * health loop (it keeps running until the scenario ends). `durationMs` is a minimum: the phase
 * lasts until health answered `STEADY_HEALTH_ANSWERS` times, and at least that long.
 */
export async function steadyState(
  ctx: ScenarioContext,
  opts: { durationMs?: number; users?: ReadonlyArray<{ name: string; kind: string; path: string }>; health?: UserRequest; check?: () => Promise<void> },
): Promise<LoadLoop> {
  return ctx.phase(PHASE.steady, async () => {
    const from = ctx.history.now();
    const health = ctx.loop(opts.health ?? HEALTH, HEALTH_EVERY_MS);
    const healthKind = (opts.health ?? HEALTH).kind;
    for (const u of opts.users ?? []) {
      const r = await ctx.user(u.name).request({ kind: u.kind, path: u.path, deadlineMs: 5000 });
      if (r.outcome !== 'ok') {
        throw new FaultlineError(
          'FAULTLINE_SCENARIO_FAILED',
          `${ctx.scenario}: steady state not reached: ${u.name}'s ${u.path} answered ${r.status ?? r.error} ${r.body.slice(0, 120)}`,
        );
      }
    }
    await opts.check?.();
    // Poll rather than sleep: the phase is as long as the evidence takes.
    for (;;) {
      const seen = ctx.history.select(healthKind).filter((r) => r.start >= from);
      const failed = seen.filter((r) => r.outcome !== 'ok');
      if (failed.length > 0) {
        throw new FaultlineError('FAULTLINE_SCENARIO_FAILED', `${ctx.scenario}: steady state not reached: ${failed.length} health requests failed before any fault`);
      }
      const elapsed = ctx.history.now() - from;
      if (seen.length >= STEADY_HEALTH_ANSWERS && elapsed >= (opts.durationMs ?? 0)) return health;
      if (elapsed >= STEADY_LIMIT_MS) {
        throw new FaultlineError('FAULTLINE_SCENARIO_FAILED', `${ctx.scenario}: steady state not reached: health answered ${seen.length} times in ${STEADY_LIMIT_MS} ms`);
      }
      await ctx.sleep(50);
    }
  });
}

/**
 * After the heal: polls (bounded) until a health request answers again and notes how long that
 * took. Recovery is reported, not judged, unless a scenario makes it its point.
 */
export async function measureRecovery(ctx: ScenarioContext, limitMs: number, health: UserRequest = HEALTH): Promise<number | undefined> {
  return ctx.phase(PHASE.recover, async () => {
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

export interface ObserveWindow {
  /** The window's maximum (and its length with `--full-windows`). */
  maxMs: number;
  /**
   * The shortest window a responsive verdict may end on (default `EARLY_END.responsiveMinMs`):
   * long enough for the incident variant to have shown itself.
   */
  minMs?: number;
  /** Diagnose once, at the diagnosis moment (see `observe`). Default true. */
  diagnose?: boolean;
  /** The latest diagnosis moment, when the pool never fills (default: 2 s before `maxMs`). */
  diagnoseByMs?: number;
  /**
   * The earliest diagnosis moment (default `DIAGNOSE_NOT_BEFORE_MS`): set it from the diagnoser's
   * `stuckAfterMs` when a scenario's diagnoser uses another one. `diagnoseByMs` still wins.
   */
  diagnoseNotBeforeMs?: number;
  /**
   * Whether the window may end once its verdict is settled (default true). A scenario judged by
   * something other than health (data checks, its own judge) runs its windows full.
   */
  endsEarly?: boolean;
}

/** How an observe window ended. */
export interface ObserveEnd {
  /** The settled verdict that ended it early, or undefined when it ran to its maximum. */
  settled?: 'hung' | 'responsive';
  durationMs: number;
}

/**
 * Waits out an observe window that has begun (call it inside the observe phase, load running):
 * - the **diagnosis moment** is the first of: the pool seen full for `DIAGNOSE_AFTER_FULL_MS`;
 *   the window's verdict settled (the window is about to close); `diagnoseByMs`. The first two
 *   wait until `diagnoseNotBeforeMs` into the window. `ctx.diagnose()` runs there, once, and the
 *   window does not end before it has;
 * - the window ends when `settledVerdict` (harness/scenario/judge.ts) says its verdict is
 *   decided, or at `maxMs`; with `--full-windows` (`ctx.fullWindows`) always at `maxMs`.
 */
export async function observe(ctx: ScenarioContext, w: ObserveWindow): Promise<ObserveEnd> {
  const { history } = ctx;
  // This observe phase's start: the latest one (a scenario of its own shape may observe twice).
  const from = history.events.filter((e) => e.kind === 'phase' && e.name === PHASE.observe).at(-1)?.t ?? history.now();
  const early = (w.endsEarly ?? true) && !ctx.fullWindows;
  const diagnoseBy = w.diagnoseByMs ?? Math.max(0, w.maxMs - 2000);
  let diagnosed = w.diagnose === false;
  let fullSince: number | undefined;
  for (;;) {
    const now = history.now();
    const elapsed = now - from;
    const settled = early ? settledVerdict(history, { from, now, minMs: w.minMs }) : undefined;
    if (!diagnosed) {
      const latest = history.pool.filter((p) => p.t >= from).at(-1);
      fullSince = latest && latest.size > 0 && latest.busy >= latest.size ? (fullSince ?? latest.t) : undefined;
      const oldEnough = elapsed >= (w.diagnoseNotBeforeMs ?? DIAGNOSE_NOT_BEFORE_MS);
      if ((oldEnough && ((fullSince !== undefined && now - fullSince >= DIAGNOSE_AFTER_FULL_MS) || settled)) || elapsed >= diagnoseBy) {
        await ctx.diagnose();
        diagnosed = true;
        // The diagnosis took time: look at the window again before ending it.
        continue;
      }
    }
    if (settled && diagnosed) return { settled, durationMs: Math.round(elapsed) };
    if (elapsed >= w.maxMs) return { durationMs: Math.round(elapsed) };
    await ctx.sleep(Math.min(OBSERVE_POLL_MS, w.maxMs - elapsed));
  }
}

/** The common shape of a scenario: steady → inject → observe (with a diagnosis moment) → heal → recover. */
export interface Schedule {
  steady?: {
    /** Users whose request must answer before the fault (alice's first page load: her session). */
    users?: ReadonlyArray<{ name: string; kind: string; path: string }>;
    /** Runs after the users' requests, still in steady state (a first upload, say); throw to fail. */
    check?: () => Promise<void>;
    /** The least time in steady state (default 0: as soon as health answered). */
    minMs?: number;
  };
  /** The health probe's request (default `HEALTH`: /health.php). */
  health?: UserRequest;
  /** The fault to inject (build it from `ctx.knob(...)` values where a knob sets its severity). */
  fault: Fault;
  /** Runs inside the inject phase before the fault goes in (a request to have in flight). */
  beforeFault?: () => Promise<void>;
  /**
   * Starts the load the fault is observed under, at the start of the observe phase; the loops it
   * returns run until the heal phase stops them.
   */
  load: () => LoadLoop | LoadLoop[] | Promise<LoadLoop | LoadLoop[]>;
  observe: ObserveWindow;
  /** Runs in the heal phase, load stopped, before the fault is healed (await a request that must end). */
  beforeHeal?: () => Promise<unknown>;
  /** After the heal: poll health up to `limitMs` and record the recovery (`recoveryMs`). */
  recover?: { limitMs: number };
}

/**
 * Runs the common schedule as phases named by `PHASE`. The judge reads the observe phase's
 * window: from its start until the heal phase begins, which is the moment `observe` returns (the
 * load is stopped inside the heal phase, so no request of the window is waited for outside it).
 * A scenario with another shape drives `ScenarioContext` itself.
 */
export async function runSchedule(ctx: ScenarioContext, s: Schedule): Promise<void> {
  await steadyState(ctx, { durationMs: s.steady?.minMs, users: s.steady?.users, health: s.health, check: s.steady?.check });
  const fault = await ctx.phase(PHASE.inject, async () => {
    await s.beforeFault?.();
    return ctx.inject(s.fault);
  });
  let loops: LoadLoop[] = [];
  const observed = await ctx.phase(PHASE.observe, async () => {
    const started = await s.load();
    loops = Array.isArray(started) ? started : [started];
    return observe(ctx, s.observe);
  });
  await ctx.phase(PHASE.heal, async () => {
    await Promise.all(loops.map((l) => l.stop()));
    await s.beforeHeal?.();
    await fault.heal();
  });
  if (observed.settled) ctx.note('window ended early', `${observed.settled} settled ${observed.durationMs} ms into the observe window (--full-windows: ${s.observe.maxMs} ms)`);
  if (s.recover && s.recover.limitMs > 0) await measureRecovery(ctx, s.recover.limitMs, s.health);
}
