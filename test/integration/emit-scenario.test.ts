/**
 * From an incident to a regression test, through the bins: a live hung pool on this host
 * (test/helpers/pool.ts; its upstream named `accounts` by a --services file) is diagnosed with
 * `--emit-scenario`; the emitted file type-checks against the built package (dist/, what npm
 * ships) and runs with `faultline run`: incident hung with the same culprit kind on `accounts`,
 * fixed responsive. `faultline scenario from` turns watch's snapshot of the same pool into the same
 * scenario.
 */
import { execFile, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCli } from '../helpers/cli';
import { startPool, type LivePool } from '../helpers/pool';

jest.setTimeout(600_000);

const REPO = join(__dirname, '..', '..');
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'faultline-emit-'));
let pool: LivePool;

beforeAll(async () => {
  // The package as npm ships it: dist/ built from these sources (prepack runs the same script).
  await run(process.execPath, [join(REPO, 'scripts', 'build.js')], { cwd: REPO, maxBuffer: 64 << 20 });
  // A consumer project whose `faultline` is this package.
  mkdirSync(join(work, 'node_modules'));
  symlinkSync(REPO, join(work, 'node_modules', 'faultline'));
  pool = await startPool({ workers: 4, service: 'accounts' });
  await pool.hang();
}, 600_000);

afterAll(() => {
  pool?.stop();
  rmSync(work, { recursive: true, force: true });
});

/** `faultline …` as the installed package runs it: the built CLI, with tsx for the .ts scenario. */
function installedFaultline(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const launcher = `require(${JSON.stringify(require.resolve('tsx/cjs/api'))}).register(); require(${JSON.stringify(join(REPO, 'dist', 'harness', 'cli', 'main.js'))}).cli(process.argv.slice(1))`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', launcher, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('diagnose --emit-scenario on a hung pool; the file type-checks and `faultline run` reproduces it: incident hung with the same culprit on the same service, fixed responsive', async () => {
  const file = join(work, 'incident.ts');
  const diag = await runCli(['diagnose', '--match', pool.tag, '--services', pool.servicesFile, '--json', '--emit-scenario', file]);
  expect(diag.code).toBe(1);
  const diagnosis = JSON.parse(diag.stdout);
  expect(diagnosis.culprit.resource.service).toBe('accounts');
  const kind: string = diagnosis.culprit.kind;
  expect(diag.stderr).toMatch(new RegExp(`^diagnose: wrote scenario incident-accounts-${kind} \\(${kind} on accounts, file lock, 4 workers\\) to ${file}$`, 'm'));
  const text = readFileSync(file, 'utf8');
  expect(text).toContain("from \"faultline\"");
  expect(text).toContain('.withMaxWorkers(4)');
  expect(text).toMatch(/lostFin\(SERVICE\)/);

  writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, types: ['node'], typeRoots: [join(REPO, 'node_modules', '@types')] }, files: ['incident.ts'] }));
  const tsc = await run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], { cwd: work }).catch((e: { stdout: string }) => ({ stdout: e.stdout, failed: true }));
  expect(tsc).toEqual({ stdout: '', stderr: '' });

  const ran = await installedFaultline(['run', 'incident.ts', '--json'], work);
  expect({ code: ran.code, stderr: ran.code === 0 ? '' : ran.stderr }).toEqual({ code: 0, stderr: '' });
  const results = (JSON.parse(ran.stdout) as { results: Array<{ scenario: string; variant: string; verdict: string; diagnosis?: { culprit: { kind: string; resource: { service?: string } } | null } }> }).results;
  const incident = results.find((r) => r.variant === 'incident')!;
  const fixed = results.find((r) => r.variant === 'fixed')!;
  expect(incident).toMatchObject({ scenario: `incident-accounts-${kind}`, verdict: 'hung', diagnosis: { culprit: { kind, resource: { service: 'accounts' } } } });
  expect(fixed.verdict).toBe('responsive');
});

test('scenario from SNAPSHOT.json: watch --once snapshots the same pool; the scenario written from it is the one diagnose emitted', async () => {
  const out = join(work, 'incidents');
  const once = await runCli(['watch', '--match', pool.tag, '--services', pool.servicesFile, '--once', '--out', out]);
  expect(once.code).toBe(1);
  const [snapshot] = readdirSync(out).filter((f) => f.endsWith('.json'));
  const file = join(work, 'from-snapshot.ts');
  const from = await runCli(['scenario', 'from', join(out, snapshot!), '--out', file]);
  expect({ code: from.code, stderr: from.stderr }).toEqual({ code: 0, stderr: '' });
  expect(from.stdout).toMatch(/^wrote scenario incident-accounts-\S+ \(\S+ on accounts, file lock, 4 workers\) to /);
  const body = (f: string) => readFileSync(f, 'utf8').replace(/^[\s\S]*?\*\/\n/, '').replace(/observed on [^:]+:\d\d:\d\d[^"]*?: /, 'observed on …: ');
  expect(existsSync(join(work, 'incident.ts'))).toBe(true);
  expect(body(file)).toBe(body(join(work, 'incident.ts')));

  const bad = await runCli(['scenario', 'from', join(work, 'tsconfig.json'), '--out', join(work, 'x.ts')]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toMatch(/^faultline scenario: scenario from: .* is not a faultline incident snapshot/);
});

test('the single-file faultline-diagnose runs diagnose and watch with nothing but node (no node_modules, no package beside it)', async () => {
  const alone = mkdtempSync(join(tmpdir(), 'faultline-bundle-'));
  try {
    const bundle = join(alone, 'faultline-diagnose.cjs');
    copyFileSync(join(REPO, 'dist', 'faultline-diagnose.cjs'), bundle);
    const pkg = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string; bin: Record<string, string>; files: string[] };
    expect(pkg.bin['faultline-diagnose']).toBe('dist/faultline-diagnose.cjs');
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin' };
    const node = (args: string[]) => run(process.execPath, [bundle, ...args], { cwd: alone, env }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
    );
    expect((await node(['--version'])).stdout.trim()).toBe(pkg.version);
    const diag = await node(['--match', pool.tag, '--services', pool.servicesFile, '--json']);
    expect(diag.code).toBe(1);
    expect(JSON.parse(diag.stdout).culprit.resource.service).toBe('accounts');
    const once = await node(['watch', '--match', pool.tag, '--once', '--out', join(alone, 'incidents')]);
    expect(once.code).toBe(1);
    expect(readdirSync(join(alone, 'incidents')).filter((f) => f.endsWith('.json'))).toHaveLength(1);
    const bad = await node(['watch', '--match', pool.tag, '--interval', '0']);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/^faultline-diagnose watch: --interval "0" must be seconds/) });
  } finally {
    rmSync(alone, { recursive: true, force: true });
  }
});
