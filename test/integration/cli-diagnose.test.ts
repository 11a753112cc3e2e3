/**
 * `faultline diagnose --pid` and `--match` through bin/faultline.js, as users type them, on a
 * live convoy: a python holder flocks a file and reads a silent loopback peer (recvfrom), two
 * waiters queue on the flock. (diagnose-local.test.ts covers the diagnoser's cases in depth;
 * diagnose-container.test.ts runs `--container` through the bin.)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'faultline-cli-diag-'));
const helper = join(dir, 'helper.py');
const lockFile = join(dir, 'sess_cli');
const children: ChildProcess[] = [];
let holder = 0;
const waiters: number[] = [];

/** Starts a helper in its own process group; resolves with its pid once it says `ready`. */
function start(args: string[]): Promise<number> {
  const child = spawn('python3', [helper, ...args], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c;
      if (/^ready$/m.test(out)) resolve(child.pid as number);
    });
    child.on('exit', (code) => reject(new Error(`helper ${args.join(' ')} exited early (${code})`)));
  });
}

beforeAll(async () => {
  copyFileSync(join(__dirname, '../unit/diagnose/fixtures/helper.py'), helper);
  holder = await start(['holder', lockFile, 'flock', 'recv']);
  for (let i = 0; i < 2; i++) waiters.push(await start(['waiter', lockFile, 'flock']));
  // Bounded wait until both waiters show behind the holder in /proc/locks.
  for (let i = 0; i < 300 && (readFileSync('/proc/locks', 'utf8').match(new RegExp(` ->.*\\b(${waiters.join('|')})\\b`, 'g')) ?? []).length < 2; i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(() => {
  for (const c of children) {
    try {
      process.kill(-(c.pid as number), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

test('diagnose --pid N --json: the documented JSON, the holder named, exit 1 (culprit found)', async () => {
  const run = await runCli(['diagnose', '--pid', String(waiters[0]), '--json', '--samples', '2', '--interval', '100']);
  expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: '' });
  const json = JSON.parse(run.stdout) as Record<string, any>;
  expect(json.verdict).toBe('stuck');
  expect(json.culprit).toMatchObject({ pid: holder, kind: 'silent-peer', resource: { type: 'tcp' } });
  expect(json.culprit.waiters).toEqual(expect.arrayContaining(waiters));
});

test('diagnose --match REGEX: the text report names the holder, exit 1', async () => {
  const run = await runCli(['diagnose', '--match', dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), '--samples', '2', '--interval', '100']);
  expect(run.code).toBe(1);
  expect(run.stdout).toContain(`STUCK: silent-peer — pid ${holder}`);
});

test('diagnose --pid of a process that waits on nothing: healthy, exit 0', async () => {
  const idle = spawn('sleep', ['30'], { stdio: 'ignore', detached: true });
  children.push(idle);
  const run = await runCli(['diagnose', '--pid', String(idle.pid), '--json', '--samples', '2', '--interval', '100']);
  expect(run.code).toBe(0);
  expect((JSON.parse(run.stdout) as { culprit?: unknown }).culprit ?? null).toBeNull();
});
