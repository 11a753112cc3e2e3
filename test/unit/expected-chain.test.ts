/**
 * Judging a diagnosis against a scenario's expectation (harness/scenario/culprit.ts): the chain a
 * culprit heads (lock type, minimum waiters, inferred link), the second plausible culprit, and
 * fixed variants that must name no culprit; through buildResult, the jest matcher and the schema.
 */
import { faultlineMatchers } from '../../harness/jest/matchers';
import { History } from '../../harness/probes/history';
import { compareCulprit, culpritOf, secondCulpritOf } from '../../harness/scenario/culprit';
import { buildResult, type RunRecord } from '../../harness/scenario/result';
import { validateScenario } from '../../harness/scenario/schema';
import type { DiagnosisOutcome, VariantSpec } from '../../harness/scenario/types';
import { SCENARIOS } from '../../scenarios';
import { resultWith } from '../helpers/results';

expect.extend(faultlineMatchers);

/** A diagnosis JSON as the diagnoser prints it: a FLOCK convoy behind pid 11, an inferred one behind pid 40. */
const convoyJson = {
  verdict: 'stuck',
  culprit: { pid: 11, kind: 'connect-stall', resource: { service: 'profile' }, waiters: [12, 13, 14] },
  chains: [
    {
      root: 11,
      kind: 'connect-stall',
      culprit: true,
      waiters: [12, 13, 14],
      links: [{ lock: { type: 'FLOCK', access: 'WRITE', file: 'fe:00:1', path: '/tmp/sess_a' }, holder: 11, waiters: [12, 13, 14] }],
      resource: { service: 'profile' },
    },
    { root: 30, kind: 'idle', culprit: false, waiters: [31], links: [], resource: {} },
    {
      root: 40,
      kind: 'connect-stall',
      culprit: true,
      waiters: [41, 42],
      links: [{ lock: { type: 'redis-session-lock', access: 'polled', file: 'redis' }, holder: 40, waiters: [41, 42], inferred: 'the waiters poll redis' }],
      resource: { service: 'mariadb' },
    },
  ],
};

describe('culpritOf and secondCulpritOf', () => {
  test('the named culprit carries the chain it heads', () => {
    expect(culpritOf(convoyJson)).toEqual({ kind: 'connect-stall', service: 'profile', pid: 11, chain: { lock: 'FLOCK', waiters: 3, inferred: false } });
  });
  test('the second plausible culprit is the next culprit-capable chain (idle chains never are)', () => {
    expect(secondCulpritOf(convoyJson)).toEqual({ kind: 'connect-stall', service: 'mariadb', pid: 40, chain: { lock: 'redis-session-lock', waiters: 2, inferred: true } });
  });
  test('a healthy diagnosis names nothing, and has no runner-up', () => {
    const healthy = { verdict: 'healthy', culprit: null, chains: [{ root: 30, kind: 'idle', culprit: false, waiters: [], links: [] }] };
    expect(culpritOf(healthy)).toBeNull();
    expect(secondCulpritOf(healthy)).toBeUndefined();
    expect(culpritOf(undefined)).toBeNull();
  });
  test('a pile-up without a lock: waiters counted, no lock, not inferred', () => {
    const pileUp = { culprit: { pid: 5, kind: 'silent-peer', resource: { service: 'db' }, waiters: [6, 7] }, chains: [{ root: 5, kind: 'silent-peer', culprit: true, waiters: [6, 7], links: [] }] };
    expect(culpritOf(pileUp)?.chain).toEqual({ lock: undefined, waiters: 2, inferred: false });
  });
});

describe('compareCulprit', () => {
  const named = culpritOf(convoyJson);
  test('the right chain has no mismatch; fields left out are not compared', () => {
    expect(compareCulprit({ kind: 'connect-stall', service: 'profile', chain: { lock: 'FLOCK', minWaiters: 3, inferred: false } }, named)).toEqual([]);
    expect(compareCulprit({ service: 'profile' }, named)).toEqual([]);
    expect(compareCulprit({}, named)).toEqual([]);
  });
  test('each differing part of the chain is one sentence', () => {
    expect(compareCulprit({ kind: 'connect-stall', service: 'profile', chain: { lock: 'redis-session-lock', minWaiters: 5, inferred: true } }, named)).toEqual([
      "the culprit's chain has a FLOCK lock, expected a redis-session-lock lock",
      "the culprit's chain link is a kernel lock, expected an inferred link",
      "the culprit's chain has 3 waiters, expected at least 5",
    ]);
  });
  test('no culprit at all says what was expected', () => {
    expect(compareCulprit({ kind: 'connect-stall', service: 'profile', chain: { lock: 'FLOCK' } }, null)).toEqual([
      'diagnosis named no culprit (expected connect-stall on profile, FLOCK lock)',
    ]);
  });
});

/** A record of a hung run (health failing through observe) or a responsive one. */
function record(overrides: Partial<RunRecord>, healthOk: boolean): RunRecord {
  const history = new History();
  history.events.push({ t: 0, kind: 'phase', name: 'observe' }, { t: 10_000, kind: 'phase', name: 'heal' });
  for (let t = 0; t < 10_000; t += 250) {
    history.requests.push({ id: t, kind: 'health', start: t, end: t + (healthOk ? 5 : 2000), outcome: healthOk ? 'ok' : 'timeout' });
  }
  return { scenario: 'lost-fin', variant: 'incident', runId: 'fl-test', history, poolSize: 8, faults: [], notes: [], diagnoserConfigured: true, durationMs: 10_000, ...overrides };
}

const outcome = (json: unknown): DiagnosisOutcome => {
  const second = secondCulpritOf(json);
  return { json, culprit: culpritOf(json), ...(second ? { secondCulprit: second } : {}) };
};

describe('buildResult with expected chains and fixed variants', () => {
  const FLOCK_SPEC: VariantSpec = { expected: 'hung', culprit: { service: 'profile', kind: 'connect-stall', chain: { lock: 'FLOCK', minWaiters: 2, inferred: false } } };

  test('an incident whose chain is as declared matches, and reports the second plausible culprit', () => {
    const r = buildResult(record({ diagnosis: outcome(convoyJson) }, false), { spec: FLOCK_SPEC });
    expect(r.mismatch).toBeUndefined();
    expect(r.matched).toBe(true);
    expect(r.secondCulprit).toMatchObject({ pid: 40, service: 'mariadb' });
  });

  test('the right service and kind with the wrong chain is a mismatch naming the chain', () => {
    const spec: VariantSpec = { expected: 'hung', culprit: { service: 'profile', kind: 'connect-stall', chain: { lock: 'redis-session-lock', inferred: true } } };
    const r = buildResult(record({ diagnosis: outcome(convoyJson) }, false), { spec });
    expect(r.matched).toBe(false);
    expect(r.mismatch).toEqual([
      "the culprit's chain has a FLOCK lock, expected a redis-session-lock lock",
      "the culprit's chain link is a kernel lock, expected an inferred link",
      'second plausible culprit: connect-stall on mariadb (pid 40; inferred redis-session-lock lock, 2 waiters)',
    ]);
  });

  test('a wrong culprit whose runner-up is the expected one says so', () => {
    const spec: VariantSpec = { expected: 'hung', culprit: { service: 'mariadb', kind: 'connect-stall', chain: { lock: 'redis-session-lock', inferred: true } } };
    const r = buildResult(record({ diagnosis: outcome(convoyJson) }, false), { spec });
    expect(r.mismatch?.at(-1)).toBe('second plausible culprit: connect-stall on mariadb (pid 40; inferred redis-session-lock lock, 2 waiters) (the expected one)');
  });

  test('a fixed variant that names a culprit is a false alarm, even when health stayed responsive', () => {
    const r = buildResult(record({ variant: 'fixed', diagnosis: outcome(convoyJson) }, true), { spec: { expected: 'responsive' } });
    expect(r.verdict).toBe('responsive');
    expect(r.matched).toBe(false);
    expect(r.mismatch).toEqual(['fixed variant: the diagnosis named connect-stall on profile (pid 11; FLOCK lock, 3 waiters), expected no culprit (a false alarm)']);
  });

  test('a fixed variant whose diagnosis names no culprit matches', () => {
    const healthy = { verdict: 'healthy', culprit: null, chains: [] };
    expect(buildResult(record({ variant: 'fixed', diagnosis: outcome(healthy) }, true), { spec: { expected: 'responsive' } }).matched).toBe(true);
  });

  test('an incident variant that declares no culprit is not judged on what the diagnosis named', () => {
    expect(buildResult(record({ diagnosis: outcome(convoyJson) }, false), { spec: { expected: 'hung' } }).matched).toBe(true);
  });
});

describe('toNameCulprit with a chain', () => {
  const hung = resultWith({ variant: 'incident', diagnosis: convoyJson, secondCulprit: secondCulpritOf(convoyJson) });
  test('compares the lock type, minimum waiters and whether the link is inferred', () => {
    expect(hung).toNameCulprit({ service: 'profile', chain: { lock: 'FLOCK', minWaiters: 3, inferred: false } });
    expect(hung).not.toNameCulprit({ service: 'profile', chain: { minWaiters: 4 } });
    expect(hung).not.toNameCulprit({ chain: { inferred: true } });
    expect(() => expect(hung).toNameCulprit({ chain: { lock: 'redis-session-lock' } })).toThrow(
      /to name any kind on any service, redis-session-lock lock; it named connect-stall on profile \(pid 11; FLOCK lock, 3 waiters\); second plausible: connect-stall on mariadb/,
    );
  });
  test('a fixed variant names no culprit: not.toNameCulprit({}) holds on a healthy diagnosis', () => {
    expect(resultWith({ diagnosis: { verdict: 'healthy', culprit: null, chains: [] } })).not.toNameCulprit({});
    expect(() => expect(hung).not.toNameCulprit({})).toThrow(/not to name any kind on any service/);
  });
});

describe('schema: expected chains', () => {
  const base = {
    name: 'my-lost-fin',
    summary: 'profile FIN lost while alice reloads',
    shows: 'what happens to the pool',
    run: async () => undefined,
  };
  const withChain = (chain: unknown) => ({ ...base, variants: { incident: { expected: 'hung', culprit: { service: 'profile', kind: 'connect-stall', chain } } } });
  const refused = (chain: unknown): string => {
    try {
      validateScenario(withChain(chain));
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('expected the chain to be refused');
  };
  test('a chain with a lock type, minimum waiters and inferred passes', () => {
    expect(validateScenario(withChain({ lock: 'FLOCK', minWaiters: 2, inferred: false }))).toBeTruthy();
    expect(validateScenario(withChain({ lock: 'redis-session-lock', inferred: true }))).toBeTruthy();
  });
  test.each([
    [{ lock: 'flock' }, /chain\.lock: must be one of FLOCK, POSIX/],
    [{ minWaiters: 0 }, /chain\.minWaiters: must be at least 1/],
    [{ minWaiters: 1.5 }, /chain\.minWaiters: must be a whole number/],
    [{ inferred: 'yes' }, /chain\.inferred: must be true/],
    [{ lock: 'FLOCK', inferred: true }, /chain\.inferred: must be false or left out with a kernel lock type/],
    [{ lock: 'redis-session-lock', inferred: false }, /chain\.inferred: must be true or left out with an inferred lock type/],
    [{ waiters: 3 }, /chain\.waiters: unknown field/],
  ])('refuses %j in one line naming the field', (chain, message) => {
    const m = refused(chain);
    expect(m).toMatch(message);
    expect(m).not.toContain('\n');
  });
  test('the bundled incident variants declare their chains: FLOCK for the file-session scenarios, the inferred Redis lock for FPM', () => {
    const chainOf = (name: string) => SCENARIOS.find((s) => s.name === name)?.variants.incident?.culprit?.chain;
    for (const name of ['lost-fin', 'lost-fin-slow-close', 'connect-blackhole']) expect(chainOf(name)).toMatchObject({ lock: 'FLOCK', inferred: false });
    for (const name of ['db-failover-half-open', 'api-no-timeout']) expect(chainOf(name)).toMatchObject({ lock: 'redis-session-lock', inferred: true });
  });
});
