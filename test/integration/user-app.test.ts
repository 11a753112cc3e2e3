import { join } from 'node:path';
import { connectDocker } from '../../harness/engine/docker';
import { RUN_LABEL } from '../../harness/engine/labels';
import { pythonPoolLostFin } from '../../examples/python-pool/scenario';
import { runCli } from '../helpers/cli';

/**
 * A user's own app through the same faults and the same diagnosis as the bundled one: the
 * pre-forked Python pool of examples/python-pool (built from its Dockerfile) under lost-fin,
 * end to end through the CLI a user runs: `faultline run examples/python-pool/scenario.ts`.
 */
const SCENARIO_FILE = join(__dirname, '..', '..', 'examples', 'python-pool', 'scenario.ts');

describe("a user's app (examples/python-pool) under lost-fin", () => {
  let results: Array<Record<string, any>>;
  let code: number | null;

  beforeAll(async () => {
    const run = await runCli(['run', SCENARIO_FILE, '--variant', 'both', '--json']);
    code = run.code;
    if (code !== 0) console.error(run.stderr.slice(-3000));
    results = JSON.parse(run.stdout).results;
  }, 240_000);

  const result = (variant: string) => {
    const r = results.find((x) => x.variant === variant);
    if (!r) throw new Error(`no ${variant} result in ${JSON.stringify(results.map((x) => x.variant))}`);
    return r;
  };

  test('exits 0: both outcomes as the scenario expects', () => {
    expect(code).toBe(0);
    expect(results.map((r) => [r.scenario, r.variant, r.matched])).toEqual([
      [pythonPoolLostFin.name, 'incident', true],
      [pythonPoolLostFin.name, 'fixed', true],
    ]);
  });

  test('incident: the Python pool hangs, health fails, every worker busy', () => {
    const r = result('incident');
    expect(r).toMatchObject({ expected: 'hung', verdict: 'hung' });
    expect(r.health.errors).toBeGreaterThan(0);
    // Pool occupancy counted the python3 master's children (FL_MAX_WORKERS = 8), not apache2.
    expect(r.pool).toEqual({ busy: 8, size: 8 });
    expect(r.phases.map((p: { name: string }) => p.name)).toEqual(['steady', 'inject', 'observe', 'heal', 'recover']);
    expect(r.faults[0]).toMatchObject({ name: 'lost-fin(profile)', layer: 'packet' });
  });

  test("incident: the diagnosis names the python3 holder of the session flock, in recv() on a half-open socket to profile", () => {
    const d = result('incident').diagnosis;
    expect(d.verdict).toBe('stuck');
    expect(d.culprit).toMatchObject({
      kind: 'silent-peer',
      command: 'python3',
      resource: { type: 'tcp', state: 'ESTABLISHED', service: 'profile', txQueue: 0, rxQueue: 0 },
    });
    // The app's own code, from the user's image, blocked in a plain recv with no timeout.
    expect(d.culprit.cmdline).toMatch(/app\.py/);
    expect(d.culprit.syscall).toMatch(/^recvfrom\(fd \d+\)/);
    expect(d.culprit.holds[0]).toMatchObject({ type: 'FLOCK', access: 'WRITE' });
    expect(d.culprit.holds[0].path).toMatch(/^\/var\/lib\/python-pool\/sessions\/sess_[0-9a-f]{32}$/);
    // alice's reloads wait on her session lock in the other workers: the holder plus its waiters fill the pool.
    expect(d.culprit.waiters.length).toBeGreaterThanOrEqual(5);
    expect(d.culprit.waiters).not.toContain(d.culprit.pid);
    const waiters = d.processes.filter((p: { pid: number }) => d.culprit.waiters.includes(p.pid));
    expect(waiters.length).toBe(d.culprit.waiters.length);
    for (const w of waiters) expect(w).toMatchObject({ command: 'python3', role: 'waiter', syscall: expect.stringMatching(/^flock\(/) });
  });

  test('fixed: health stays within bound with no errors while the FIN is lost', () => {
    const r = result('fixed');
    expect(r).toMatchObject({ expected: 'responsive', verdict: 'responsive' });
    expect(r.health.total).toBeGreaterThan(0);
    expect(r.health.errors).toBe(0);
    expect(r.health.p99Ms).toBeLessThanOrEqual(1000);
    expect(r.pool.busy).toBeLessThan(r.pool.size);
    // Diagnosed at the same moment as the incident, it names no culprit (a culprit here would be
    // a false alarm, and a mismatch).
    expect((r.diagnosis as { culprit: unknown } | undefined)?.culprit).toBeNull();
    expect(r.matched).toBe(true);
  });

  test('leaves no container or network of either run behind', async () => {
    const { docker } = await connectDocker(process.env);
    for (const r of results) {
      const filters = { label: [`${RUN_LABEL}=${r.runId}`] };
      expect(await docker.listContainers({ all: true, filters })).toEqual([]);
      expect(await docker.listNetworks({ filters })).toEqual([]);
    }
  });
});

describe("a sweep of the user's own timeout knob (the README's command)", () => {
  test('faultline sweep examples/python-pool/scenario.ts --variant fixed --vary timeout_ms=500,4000 runs both points through the bin', async () => {
    const run = await runCli(['sweep', SCENARIO_FILE, '--variant', 'fixed', '--vary', 'timeout_ms=500,4000', '--json']);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    const doc = JSON.parse(run.stdout) as { scenario: string; points: Array<{ settings: Record<string, unknown>; verdict: string; runs: number }> };
    expect(doc.scenario).toBe('python-pool-lost-fin');
    expect(doc.points.map((p) => p.settings.timeout_ms)).toEqual([500, 4000]);
    // The fixed code answers 504 within its deadline whatever the per-read timeout: both points hold.
    expect(doc.points.map((p) => p.verdict)).toEqual(['responsive', 'responsive']);
    expect(run.stderr).toMatch(/timeout_ms/); // the boundary line names the knob
  }, 300_000);
});
