/**
 * A live hung pool on the host for watch's tests (loopback only): fixtures/watch-pool.py forks N
 * workers that take a session flock and then ask an upstream; the upstream stays silent until the
 * heal file exists. `hang()` sends N requests (the first worker holds the lock and reads the
 * silent upstream, the others queue on the flock); `heal()` lets the upstream answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const SCRIPT = join(__dirname, '..', 'integration', 'fixtures', 'watch-pool.py');

export interface LivePool {
  dir: string;
  /** What `--match` selects: the pool's master and workers, not the upstream. */
  tag: string;
  workers: number;
  upstreamPort: number;
  lockFile: string;
  /** A --services file naming the upstream `service`. */
  servicesFile: string;
  hang(): Promise<void>;
  heal(): void;
  stop(): void;
}

function startPy(args: string[], env: NodeJS.ProcessEnv, children: ChildProcess[]): Promise<number> {
  const child = spawn('python3', [SCRIPT, ...args], { stdio: ['ignore', 'pipe', 'inherit'], detached: true, env: { ...process.env, ...env } });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c;
      const m = /^port (\d+)$/m.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`watch-pool.py ${args[0]} exited early (${code})`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

function lockWaiters(): number {
  return (readFileSync('/proc/locks', 'utf8').match(/->/g) ?? []).length;
}

export async function startPool(opts: { workers: number; service: string }): Promise<LivePool> {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-watch-pool-'));
  const tag = `fl-pool-${process.pid}-${Date.now().toString(36)}`;
  const children: ChildProcess[] = [];
  const clients: Socket[] = [];
  const heal = join(dir, 'heal');
  const lockFile = join(dir, 'sess_watch');
  const upstreamPort = await startPy(['upstream'], { HEAL_FILE: heal }, children);
  const poolPort = await startPy(['pool', tag, String(opts.workers), String(upstreamPort), lockFile], {}, children);
  const servicesFile = join(dir, 'services.json');
  writeFileSync(servicesFile, JSON.stringify({ [opts.service]: `127.0.0.1:${upstreamPort}` }));
  return {
    dir,
    tag,
    workers: opts.workers,
    upstreamPort,
    lockFile,
    servicesFile,
    async hang() {
      const before = lockWaiters();
      for (let i = 0; i < opts.workers; i++) {
        const s = connect(poolPort, '127.0.0.1');
        s.on('error', () => undefined);
        s.write('GET /profile\n');
        clients.push(s);
      }
      // Hung: every worker but the holder queued on the session flock.
      await waitFor(`${opts.workers - 1} flock waiters`, () => lockWaiters() - before >= opts.workers - 1);
    },
    heal() {
      writeFileSync(heal, '');
    },
    stop() {
      for (const s of clients) s.destroy();
      for (const c of children) {
        try {
          process.kill(-(c.pid as number), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
