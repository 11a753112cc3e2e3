/**
 * `faultline watch` through bin/faultline.js on a live hung pool on this host (loopback only,
 * test/helpers/pool.ts): /metrics shows the pool saturating, the snapshot appears within
 * interval x stuck-for, --on-stuck runs with its path, the log says recovered after the heal, and
 * SIGTERM stops it. Bad input: one line, exit 2, nothing started.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, runCli } from '../helpers/cli';
import { startPool, waitFor, type LivePool } from '../helpers/pool';

jest.setTimeout(120_000);

const work = mkdtempSync(join(tmpdir(), 'faultline-watch-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Prometheus text -> `name{labels}` -> value (comments dropped). */
function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

async function scrape(address: string): Promise<Map<string, number>> {
  const res = await fetch(`http://${address}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parseMetrics(await res.text());
}

describe('watch on a live pool', () => {
  let pool: LivePool;
  let child: ChildProcessWithoutNullStreams | undefined;
  let stderr = '';
  beforeAll(async () => {
    pool = await startPool({ workers: 4, service: 'profile' });
  });
  afterAll(() => {
    child?.kill('SIGKILL');
    pool.stop();
  });

  test('--once: exit 0 while healthy', async () => {
    const run = await runCli(['watch', '--match', pool.tag, '--once', '--out', join(work, 'once')]);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^HEALTHY/m);
  });

  test('hangs: metrics saturate, a snapshot within interval x stuck-for, --on-stuck gets its path; the heal is logged as recovered; SIGTERM stops it', async () => {
    const out = join(work, 'incidents');
    const paged = join(work, 'paged.txt');
    const pager = join(work, 'page.sh');
    writeFileSync(pager, `#!/bin/sh\nprintf '%s\\n' "$#" "$@" > ${paged}\n`);
    chmodSync(pager, 0o755);
    const intervalS = 1;
    const stuckFor = 3;
    child = spawn(process.execPath, [BIN, 'watch', '--match', pool.tag, '--interval', String(intervalS), '--stuck-for', String(stuckFor), '--listen', '127.0.0.1:0', '--out', out, '--on-stuck', pager, '--services', pool.servicesFile], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    child.stderr.on('data', (c) => (stderr += c));
    const exited = new Promise<number | null>((resolve) => child!.on('close', (code) => resolve(code)));
    await waitFor('the watching line', () => /watching .* metrics on http:\/\/([^ ]+)\/metrics/.test(stderr));
    const address = /metrics on http:\/\/([^ ]+)\/metrics/.exec(stderr)![1]!;
    await waitFor('a first sample', async () => ((await scrape(address)).get('faultline_samples_total{verdict="healthy"}') ?? 0) >= 1);
    const healthy = await scrape(address);
    expect(healthy.get('faultline_pool_processes')).toBe(pool.workers + 1); // the master and its workers
    expect(healthy.get('faultline_pool_busy')).toBeLessThan(pool.workers); // idle workers wait in accept
    expect(healthy.get('faultline_verdict{verdict="healthy"}')).toBe(1);
    expect(healthy.get('faultline_incident')).toBe(0);

    await pool.hang();
    const hungAt = Date.now();
    await waitFor('the snapshot', () => existsSync(out) && readdirSync(out).some((f) => f.endsWith('.json')), 30_000);
    const snapshotAfterMs = Date.now() - hungAt;
    // The first stuck sample comes within one interval, the incident stuck-for - 1 intervals
    // later; a sample itself takes its two readings 250 ms apart (+ slack for a loaded machine).
    expect(snapshotAfterMs).toBeLessThan(intervalS * stuckFor * 1000 + 1500);
    const [file] = readdirSync(out).filter((f) => f.endsWith('.json'));
    const snapshotPath = join(out, file!);

    const stuck = await scrape(address);
    expect(stuck.get('faultline_verdict{verdict="stuck"}')).toBe(1);
    expect(stuck.get('faultline_incident')).toBe(1);
    expect(stuck.get('faultline_pool_busy')).toBe(pool.workers + 1); // saturated: no worker left in accept
    const kindSeries = [...stuck.keys()].find((k) => k.startsWith('faultline_waiting_workers{kind='));
    expect(kindSeries).toMatch(/kind="(half-open-read|silent-peer)"/);
    expect(stuck.get(kindSeries!)).toBe(pool.workers);
    expect(stuck.get('faultline_waiting_workers_by_service{service="profile"}')).toBe(pool.workers);
    expect(stuck.get('faultline_oldest_wait_seconds')).toBeGreaterThan(0);
    expect(stuck.get('faultline_incidents_total')).toBe(1);
    expect(stuck.get('faultline_sample_cpu_seconds_total')).toBeGreaterThan(0);

    const snapshot = JSON.parse(readFileSync(snapshotPath, 'utf8'));
    expect(snapshot).toMatchObject({ format: 'faultline-incident/1', stuckSamples: stuckFor, target: { match: pool.tag }, diagnosis: { verdict: 'stuck', culprit: { resource: { service: 'profile' } } } });
    expect(snapshot.evidence.samples).toHaveLength(2);
    expect(readFileSync(snapshotPath.replace(/\.json$/, '.txt'), 'utf8')).toMatch(/^STUCK: .* upstream profile(;|$)/m);
    await waitFor('the pager', () => existsSync(paged) && readFileSync(paged, 'utf8').split('\n').length >= 3);
    // One argument, the path, whatever it holds: argv, never a shell string.
    expect(readFileSync(paged, 'utf8')).toBe(`1\n${snapshotPath}\n`);
    expect(stderr).toMatch(new RegExp(`watch: stuck for [0-9.]+ (ms|s) \\(${stuckFor} samples\\): .*upstream profile, ${pool.workers - 1} waiting behind it; snapshot ${snapshotPath.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));

    pool.heal();
    await waitFor('recovered', () => /watch: recovered after [0-9.]+ (ms|s) \(was /.test(stderr), 30_000);
    const after = await scrape(address);
    expect(after.get('faultline_incident')).toBe(0);
    expect(after.get('faultline_verdict{verdict="healthy"}')).toBe(1);
    // One line per state change: one incident, one recovery.
    expect(stderr.match(/watch: stuck for/g)).toHaveLength(1);
    expect(stderr.match(/watch: recovered/g)).toHaveLength(1);

    child.kill('SIGTERM');
    expect(await exited).toBe(130);
    expect(stderr).toMatch(/watch: stopped$/m);
    child = undefined;
  });
});

describe('watch: bad input is one line, exit 2, nothing started', () => {
  let taken: Server;
  let takenPort = 0;
  beforeAll(async () => {
    taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    takenPort = (taken.address() as { port: number }).port;
  });
  afterAll(() => taken.close());

  const notAFile = join(work, 'a-file');
  writeFileSync(notAFile, '');
  const cases: Array<[string, string[], RegExp]> = [
    ['--interval 0', ['--interval', '0'], /--interval "0" must be seconds from 0\.5/],
    ['an unwritable --out', ['--out', join(notAFile, 'incidents')], /--out .* is not a writable directory/],
    ['a --listen port taken', ['--listen', 'PORT'], /--listen 127\.0\.0\.1:\d+ is taken by another program/],
    ['an --on-stuck that does not exist', ['--on-stuck', '/nonexistent/page-oncall'], /--on-stuck "\/nonexistent\/page-oncall" is not an executable program/],
    ['an --on-stuck shell string', ['--on-stuck', 'echo stuck'], /without a shell/],
    ['no target', [], /say which processes/],
  ];
  test.each(cases)('%s', async (_name, flags, message) => {
    const args = flags.map((f) => (f === 'PORT' ? `127.0.0.1:${takenPort}` : f));
    const target = flags.length === 0 ? [] : ['--match', 'never-matches-anything-here'];
    const out = flags.includes('--out') ? [] : ['--out', join(work, 'bad-input-out')];
    const run = await runCli(['watch', ...target, ...out, ...args]);
    expect(run.code).toBe(2);
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(message);
    expect(run.stderr).not.toMatch(/watching|    at /);
    expect(run.stdout).toBe('');
  });
});
