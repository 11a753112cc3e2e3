import { runCli } from '../helpers/cli';

/**
 * The first incident of the brief, end to end through the CLI a user runs:
 * `faultline run lost-fin --variant both --json`.
 */
describe('lost-fin on the real topology', () => {
  let results: Array<Record<string, any>>;
  let code: number | null;

  beforeAll(async () => {
    const run = await runCli(['run', 'lost-fin', '--variant', 'both', '--json']);
    code = run.code;
    // Exactly one JSON document on stdout; progress went to stderr.
    const parsed = JSON.parse(run.stdout);
    results = parsed.results;
    if (code !== 0) console.error(run.stderr.slice(-3000));
  }, 240_000);

  test('exits 0: both outcomes as the scenario expects', () => {
    expect(code).toBe(0);
    expect(results.map((r) => [r.variant, r.matched])).toEqual([
      ['incident', true],
      ['fixed', true],
    ]);
  });

  test('incident: the pool hangs, health fails, every worker busy', () => {
    const r = results.find((x) => x.variant === 'incident')!;
    expect(r).toMatchObject({ scenario: 'lost-fin', expected: 'hung', verdict: 'hung' });
    expect(r.health.errors).toBeGreaterThan(0);
    expect(r.pool.busy).toBe(r.pool.size);
    expect(r.phases.map((p: { name: string }) => p.name)).toEqual(['steady', 'inject', 'observe', 'heal']);
    expect(r.faults[0]).toMatchObject({ name: 'lost-fin(profile)', layer: 'packet' });
    expect(r.faults[0].healedAtMs).toBeGreaterThan(r.faults[0].injectedAtMs);
  });

  test('incident: the diagnosis names the holder reading a half-open socket to profile, and its waiters', () => {
    const d = results.find((x) => x.variant === 'incident')!.diagnosis;
    expect(d.verdict).toBe('stuck');
    expect(d.culprit).toMatchObject({
      kind: 'silent-peer',
      command: 'apache2',
      resource: { type: 'tcp', state: 'ESTABLISHED', service: 'profile', txQueue: 0, rxQueue: 0 },
    });
    expect(d.culprit.holds[0]).toMatchObject({ type: 'FLOCK', access: 'WRITE' });
    expect(d.culprit.holds[0].path).toMatch(/^\/var\/lib\/php\/sessions\/sess_/);
    // The holder plus its waiters fill the pool (8 workers by default).
    expect(d.culprit.waiters.length).toBeGreaterThanOrEqual(5);
    expect(d.culprit.waiters).not.toContain(d.culprit.pid);
  });

  test('fixed: the profile request fails within its deadline and health stays within bound', () => {
    const r = results.find((x) => x.variant === 'fixed')!;
    expect(r).toMatchObject({ expected: 'responsive', verdict: 'responsive' });
    expect(r.health.errors).toBe(0);
    expect(r.health.p99Ms).toBeLessThanOrEqual(1000);
    expect(r.pool.busy).toBeLessThan(r.pool.size);
    // Diagnosed at the same moment as the incident, it names no culprit (a culprit here would be
    // a false alarm, and a mismatch).
    expect((r.diagnosis as { culprit: unknown } | undefined)?.culprit).toBeNull();
    expect(r.matched).toBe(true);
  });
});
