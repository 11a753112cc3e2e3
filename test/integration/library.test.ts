import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { faultlineMatchers } from '../../harness/jest/matchers';
import { runCli } from '../helpers/cli';

expect.extend(faultlineMatchers);

/**
 * The incident library beyond lost-fin (which has its own test), both variants, through the CLI:
 * each incident variant judged as expected with the culprit named, each fixed variant responsive
 * with nothing lost.
 */
const SCENARIOS = ['stalled-write', 'slow-node', 'connect-blackhole', 'reset-mid-transfer', 'partition-heal', 'lost-fin-slow-close'];

describe('incident library on the real topology', () => {
  let results: Array<Record<string, any>>;
  let code: number | null;
  const junitFile = join(mkdtempSync(join(tmpdir(), 'faultline-junit-')), 'junit.xml');
  const result = (scenario: string, variant: string) => results.find((r) => r.scenario === scenario && r.variant === variant)!;

  beforeAll(async () => {
    const run = await runCli(['run', ...SCENARIOS, '--variant', 'both', '--json', '--junit', junitFile]);
    code = run.code;
    results = JSON.parse(run.stdout).results;
    if (code !== 0) console.error(run.stderr.slice(-4000));
  }, 600_000);

  test('every scenario x variant matched what its scenario expects; exit 0', () => {
    expect(results.map((r) => `${r.scenario}/${r.variant}: ${r.matched ? 'ok' : r.mismatch?.join('; ')}`)).toEqual(
      SCENARIOS.flatMap((s) => [`${s}/incident: ok`, `${s}/fixed: ok`]),
    );
    expect(code).toBe(0);
  });

  test('--junit writes one test case per scenario x variant, none failed', () => {
    const xml = readFileSync(junitFile, 'utf8');
    expect(xml).toMatch(new RegExp(`<testsuite name="faultline" tests="${SCENARIOS.length * 2}" failures="0"`));
    expect(xml).toContain('<testcase classname="faultline.slow-node" name="slow-node [incident] is hung"');
  });

  test.each([
    ['stalled-write', 'stalled-write', 'storage-1'],
    ['slow-node', 'slow-peer', 'storage-3'],
    ['connect-blackhole', 'connect-stall', 'profile'],
    ['partition-heal', 'connect-stall', 'storage-1'],
    ['lost-fin-slow-close', 'half-open-read', 'profile'],
  ])('%s incident: the pool hangs and the diagnosis names %s on %s', (scenario, kind, service) => {
    const r = result(scenario, 'incident');
    expect(r.verdict).toBe('hung');
    expect(r.pool.busy).toBe(r.pool.size);
    expect(r).toNameCulprit({ kind, service });
  });

  test('stalled-write: the holder writes into a full send queue that the frozen node does not drain, with the reloads queued on its session lock', () => {
    const c = result('stalled-write', 'incident').diagnosis.culprit;
    expect(c.resource.txQueue).toBeGreaterThan(0);
    expect(c.holds[0].path).toMatch(/^\/var\/lib\/php\/sessions\/sess_/);
    expect(c.waiters.length).toBeGreaterThanOrEqual(3);
  });

  test('slow-node: the workers pile up on the slow replica with no lock involved', () => {
    const c = result('slow-node', 'incident').diagnosis.culprit;
    expect(c.holds).toEqual([]);
    expect(c.waiters.length).toBeGreaterThanOrEqual(3);
  });

  test('fixed variants stay responsive and lose nothing', () => {
    for (const s of SCENARIOS) {
      const r = result(s, 'fixed');
      expect(r.verdict).toBe('responsive');
      expect(r).toStayResponsive({ p99Ms: 1000, errorRate: 0 });
      if (r.data) expect(r).toLoseNoData();
    }
    // Quorum writes with a slow third replica still acknowledge uploads, intact on two nodes.
    expect(result('slow-node', 'fixed').data.acknowledged).toBeGreaterThan(0);
  });

  test('reset-mid-transfer: no hung worker in either variant; the incident code acknowledges uploads that were never stored', () => {
    const incident = result('reset-mid-transfer', 'incident');
    expect(incident.verdict).toBe('data-lost');
    expect(incident.health.errors).toBe(0);
    expect(incident.data.lost).toBeGreaterThan(0);
    expect(incident.data.acknowledged).toBeGreaterThanOrEqual(incident.data.lost);
    expect(incident).not.toLoseNoData();
    const fixed = result('reset-mid-transfer', 'fixed');
    expect(fixed).toLoseNoData();
    expect(fixed.data.acknowledged).toBe(0);
  });

  test('partition-heal: the pool recovers within its bound after the heal', () => {
    for (const variant of ['incident', 'fixed']) {
      const r = result('partition-heal', variant);
      expect(r.faults[0]).toMatchObject({ name: 'partition(web,storage-1)', layer: 'packet' });
      expect(r.recoveryMs).toBeLessThanOrEqual(variant === 'incident' ? 25_000 : 5_000);
    }
  });
});
