import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';

/**
 * `faultline sweep` as a user types it: bad input refused in one line with exit 2 before any
 * engine work, and a real two-point sweep of lost-fin through the bin.
 */
describe('faultline sweep through the bin', () => {
  test.each([
    [['sweep', 'lost-fin', '--vary', 'nope=1,2'], /lost-fin has no knob "nope"; its knobs are read_timeout_ms/],
    [['sweep', 'lost-fin', '--vary', 'read_timeout_ms=fast'], /read_timeout_ms must be an integer in ms from 0 to 600000/],
    [['sweep', 'lost-fin', '--vary', 'workers=1,8'], /workers must be an integer in workers from 2 to 64/],
    [['sweep', 'lost-fin', '--vary', 'read_timeout_ms='], /the list of values is empty/],
    [['sweep', 'lost-fin', '--vary', 'read_timeout_ms=1,2,3', '--vary', 'workers=2,3,4'], /9 runs .* more than --max-runs 4; add --yes/],
    [['sweep', 'lost-fin'], /at least one --vary/],
    [['run', 'lost-fin', '--set', 'lock_across_io=sometimes'], /lock_across_io must be true or false/],
  ])('%j: one line, exit 2, nothing started', async (args, message) => {
    // DOCKER_HOST pointing nowhere: a sweep that got as far as the engine would fail differently.
    const r = await runCli(args, { env: { ...process.env, FAULTLINE_SWEEP_MAX_RUNS: '4', DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(message);
    expect(r.stdout).toBe('');
  });

  test('--knobs lists the knobs, one a line, the name first', async () => {
    const r = await runCli(['sweep', 'lost-fin', '--knobs']);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n').filter(Boolean).map((l) => l.split(/\s+/)[0])).toEqual(expect.arrayContaining(['read_timeout_ms', 'lock_across_io', 'workers', 'keepalive_time_s']));
  });

  test('a real 2-point sweep: every verdict, the boundary and the model beside it, one JSON document', async () => {
    const report = mkdtempSync(join(tmpdir(), 'faultline-sweep-'));
    const r = await runCli(['sweep', 'lost-fin', '--vary', 'read_timeout_ms=250,4000', '--json', '--report', report]);
    if (r.code !== 0) console.error(r.stderr.slice(-3000));
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.knobs.map((k: { name: string }) => k.name)).toEqual(['read_timeout_ms']);
    expect(doc.points.map((p: { settings: unknown; verdict: string }) => [p.settings, p.verdict])).toEqual([
      [{ read_timeout_ms: 250 }, 'responsive'],
      [{ read_timeout_ms: 4000 }, 'hung'],
    ]);
    expect(doc.points[1].busyPeak).toBe(doc.points[1].poolSize);
    expect(doc.points.map((p: { model: { verdict: string } }) => p.model.verdict)).toEqual(['responsive', 'hung']);
    expect(r.stderr).toMatch(/\[sweep 1\/2\] .*ETA/);
    expect(r.stderr).toMatch(/read_timeout_ms: responsive at ≤ 250 ms, hung at ≥ 4000 ms/);
    expect(r.stderr).toMatch(/model: responsive at ≤ 250 ms, hung at ≥ 4000 ms.*agrees with the measurement/);
    expect(r.stderr).toMatch(/recommendation: read_timeout_ms ≤ 250 ms/);
    expect(JSON.parse(readFileSync(join(report, 'sweep.json'), 'utf8')).points).toHaveLength(2);
    // A sweep's runs are diagnosed as the library's are (one runOptionsFor): the hung point names its culprit.
    const runs = (JSON.parse(readFileSync(join(report, 'results.json'), 'utf8')) as { results: Array<{ verdict: string; diagnosis?: { culprit?: { resource?: { service?: string } } } }> }).results;
    expect(runs.find((run) => run.verdict === 'hung')?.diagnosis?.culprit?.resource?.service).toBe('profile');
  }, 300_000);
});
