/**
 * Every shape of emitted scenario reproduces what it was written from. emit-scenario.test.ts runs
 * the one a live hung pool on this host gives (a file lock over a silent read); the other shapes
 * come from incidents this host cannot stage without the topology itself, so their snapshots are
 * written here as faultline watch writes them (the diagnosis part: culprit kind, its lock, its
 * upstream), turned into scenarios by `faultline scenario from` and run with `faultline run`
 * through the real bin, against the package as npm ships it: the incident variant hangs with the
 * culprit kind and service of the snapshot, the fixed variant stays responsive.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SNAPSHOT_FORMAT } from '../../harness/watch/snapshot';
import { BIN } from '../helpers/cli';
import { stuckDiagnosis } from '../helpers/stuck-diagnosis';

jest.setTimeout(600_000);

const REPO = join(__dirname, '..', '..');
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'faultline-emit-shapes-'));

beforeAll(async () => {
  await run(process.execPath, [join(REPO, 'scripts', 'build.js')], { cwd: REPO, maxBuffer: 64 << 20 });
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(REPO, join(work, 'node_modules', 'faultline'));
}, 600_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

const POLLED = { type: 'redis-session-lock', access: 'polled', file: 'redis', path: '' };
type Lock = 'file' | 'polled' | 'none';

/** A watch snapshot whose diagnosis names a culprit of `kind` on `service` behind a `lock` (5 workers). */
function snapshot(kind: string, service: string, lock: Lock) {
  const diagnosis = stuckDiagnosis(kind);
  diagnosis.culprit.resource.service = service;
  if (lock === 'polled') diagnosis.culprit.holds = [POLLED];
  if (lock === 'none') {
    diagnosis.culprit.holds = [];
    diagnosis.chains[0]!.links = [];
  }
  const t = new Date().toISOString();
  return { format: SNAPSHOT_FORMAT, faultline: 'test', time: t, stuckSince: t, stuckSamples: 3, intervalMs: 5000, host: 'web-3', target: { match: 'apache2' }, diagnosis, evidence: null };
}

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return run(process.execPath, [BIN, ...args], { cwd: work, maxBuffer: 64 << 20 }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
}

test.each([
  // [the shape, culprit kind, service, lock, the fault the file must use]
  ['a write to an upstream that stopped reading', 'peer-not-reading', 'objects', 'file', 'pauseNode(SERVICE)'],
  ['a write in flight when every packet is dropped', 'unreachable-peer', 'vault', 'file', 'partition(SERVICE)'],
  ['a pile-up with no lock: connects that never complete', 'connect-stall', 'ledger', 'none', 'synBlackhole(SERVICE)'],
  ['a lock polled in Redis (PHP-FPM) over a silent read', 'silent-peer', 'billing', 'polled', 'repliesLost(SERVICE)'],
] as Array<[string, string, string, Lock, string]>)('%s: scenario from the snapshot, run: incident hung on the same culprit, fixed responsive', async (_shape, kind, service, lock, fault) => {
  const snap = join(work, `${kind}.json`);
  writeFileSync(snap, JSON.stringify(snapshot(kind, service, lock)));
  const file = join(work, `${kind}.ts`);
  const from = await cli(['scenario', 'from', snap, '--out', file]);
  expect({ code: from.code, stderr: from.stderr }).toEqual({ code: 0, stderr: '' });
  const text = readFileSync(file, 'utf8');
  expect(text).toContain(fault);
  expect(text).toContain('runSchedule(ctx, {');

  const ran = await cli(['run', file, '--json']);
  expect({ code: ran.code, stderr: ran.code === 0 ? '' : ran.stderr }).toEqual({ code: 0, stderr: '' });
  const results = (JSON.parse(ran.stdout) as { results: Array<{ variant: string; verdict: string; diagnosis?: { culprit: { kind: string; resource: { service?: string } } | null } }> }).results;
  expect(results.find((r) => r.variant === 'incident')).toMatchObject({ verdict: 'hung', diagnosis: { culprit: { kind, resource: { service } } } });
  expect(results.find((r) => r.variant === 'fixed')?.verdict).toBe('responsive');
});
