/**
 * Live tests of the diagnoser on real local processes (loopback only): python3 helpers take a
 * flock or POSIX (fcntl) lock and then block the way a stuck worker does, with waiters queued
 * behind them. Each test asserts the kind, the holder's pid, the waiters and the resource.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ContainerProcReader, diagnose, decodeSyscall, normalizeArch, renderText, type Diagnosis } from '../../harness/diagnose';
import { diagnoseCommand } from '../../harness/cli/diagnose';
import { captureIO } from '../helpers/io';

jest.setTimeout(60_000);

// The same helper records the unit tests' fixture trees (test/unit/diagnose/record-fixtures.ts).
const HELPER_SOURCE = path.join(__dirname, '../unit/diagnose/fixtures/helper.py');

const arch = normalizeArch(process.arch) ?? 'x86_64';
let dir: string;
let helperPath: string;
let children: ChildProcess[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-diag-'));
  helperPath = path.join(dir, 'helper.py');
  fs.copyFileSync(HELPER_SOURCE, helperPath);
});

afterEach(() => {
  // Each helper leads its own process group (detached): kill the group, forked peers included.
  for (const child of children) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children = [];
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

interface Helper {
  pid: number;
  lines: string[];
}

function spawnHelper(args: string[]): Promise<Helper> {
  const child = spawn('python3', [helperPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop() ?? '';
      for (const line of parts) {
        lines.push(line);
        if (line === 'ready') resolve({ pid: child.pid as number, lines });
      }
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`helper ${args.join(' ')} exited early (${code})`)));
  });
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function syscallOf(pid: number, tid?: number): string {
  try {
    const line = fs.readFileSync(tid === undefined ? `/proc/${pid}/syscall` : `/proc/${pid}/task/${tid}/syscall`, 'utf8').trim();
    if (line === 'running') return 'running';
    return decodeSyscall(arch, Number(line.split(' ')[0])).name;
  } catch {
    return 'gone';
  }
}

/** PIDs shown as `->` waiters in /proc/locks. */
function lockWaiters(): Set<number> {
  const out = new Set<number>();
  for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
    const m = /->\s*\S+\s+\S+\s+\S+\s+([0-9]+)/.exec(line);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

async function convoy(
  holderArgs: { kind: 'flock' | 'fcntl'; mode: string; lockFile?: string },
  waiterCount: number,
  holderSyscalls: string[],
): Promise<{ holder: Helper; waiters: number[]; lockFile: string }> {
  const lockFile = holderArgs.lockFile ?? path.join(dir, `sess-${holderArgs.mode.replace(/\W/g, '_')}-${holderArgs.kind}.lock`);
  const holder = await spawnHelper(['holder', lockFile, holderArgs.kind, holderArgs.mode]);
  const waiters: number[] = [];
  for (let i = 0; i < waiterCount; i++) waiters.push((await spawnHelper(['waiter', lockFile, holderArgs.kind])).pid);
  await waitFor(`${waiterCount} waiters in /proc/locks`, () => {
    const w = lockWaiters();
    return waiters.every((p) => w.has(p));
  });
  await waitFor(`holder in ${holderSyscalls.join('/')}`, () => holderSyscalls.includes(syscallOf(holder.pid)));
  return { holder, waiters, lockFile };
}

/** The leader and the workers it forked. */
function d0pids(leader: number): number[] {
  const out = [leader];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === leader) out.push(Number(name));
    } catch {
      /* gone */
    }
  }
  return out;
}

const scope = (): RegExp => new RegExp(dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));

function expectCulprit(d: Diagnosis, kind: string, holder: number, waiters: number[]): void {
  expect(d.verdict).toBe('stuck');
  expect(d.culprit).not.toBeNull();
  expect(d.culprit?.kind).toBe(kind);
  expect(d.culprit?.pid).toBe(holder);
  expect([...(d.culprit?.waiters ?? [])].sort((a, b) => a - b)).toEqual([...waiters].sort((a, b) => a - b));
}

/**
 * helper.py holder … thread-recv / thread-spin: a worker thread takes the lock, then reads from a
 * silent peer or spins; the main thread waits in join (futex), a third thread sleeps.
 */
async function threadedConvoy(
  mode: 'thread-recv' | 'thread-spin',
  waiterCount: number,
  threadSyscalls: string[],
): Promise<{ holder: Helper; tid: number; port?: number; waiters: number[]; lockFile: string }> {
  const lockFile = path.join(dir, `sess-${mode}.lock`);
  const holder = await spawnHelper(['holder', lockFile, 'flock', mode]);
  const tid = Number(holder.lines.find((l) => l.startsWith('tid '))?.split(' ')[1]);
  const port = Number(holder.lines.find((l) => l.startsWith('port '))?.split(' ')[1]) || undefined;
  const waiters: number[] = [];
  for (let i = 0; i < waiterCount; i++) waiters.push((await spawnHelper(['waiter', lockFile, 'flock'])).pid);
  await waitFor(`${waiterCount} waiters in /proc/locks`, () => {
    const w = lockWaiters();
    return waiters.every((p) => w.has(p));
  });
  await waitFor(`thread ${tid} in ${threadSyscalls.join('/')}`, () => threadSyscalls.includes(syscallOf(holder.pid, tid)));
  await waitFor('the main thread in join (futex)', () => syscallOf(holder.pid) === 'futex');
  return { holder, tid, port, waiters, lockFile };
}

/** Runs argv locally: the container reader's collector script, without a container. */
const localExec = {
  exec: (argv: string[]) =>
    new Promise<{ exitCode: number; stdout: string; stderr: string }>((resolve) =>
      execFile(argv[0] as string, argv.slice(1), { maxBuffer: 256 << 20 }, (err, stdout, stderr) =>
        resolve({ exitCode: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout, stderr }),
      ),
    ),
};

describe('diagnose on live local processes', () => {
  test('multi-threaded holder: the main thread joins (futex) a worker thread that holds the flock and reads a silent peer: silent-peer, thread named', async () => {
    const { holder, tid, port, waiters, lockFile } = await threadedConvoy('thread-recv', 3, ['recvfrom']);
    expect(tid).not.toBe(holder.pid);
    const d = await diagnose({
      match: scope(),
      samples: 2,
      intervalMs: 200,
      registry: { services: [{ name: 'storage', addresses: [{ host: '127.0.0.1', port: port as number }] }] },
    });
    expectCulprit(d, 'silent-peer', holder.pid, waiters);
    expect(d.culprit?.tid).toBe(tid);
    expect(d.culprit?.syscall).toMatch(/^recvfrom\(fd \d+\)$/);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'ESTABLISHED', txQueue: 0, rxQueue: 0, service: 'storage', remote: `127.0.0.1:${port}` });
    expect(d.culprit?.holds[0]).toMatchObject({ type: 'FLOCK', access: 'WRITE', path: lockFile });
    expect(d.culprit?.evidence.join('\n')).toMatch(new RegExp(`main thread ${holder.pid} in futex`));
    expect(d.processes.find((p) => p.pid === holder.pid)).toMatchObject({ role: 'culprit', tid });
    expect(d.processes.filter((p) => p.role === 'waiter').map((p) => p.pid)).toEqual([...waiters].sort((a, b) => a - b));
    expect(renderText(d)).toContain(`pid ${holder.pid} (python3) thread ${tid} blocks 3 waiting processes; upstream storage`);

    // The container reader's one-exec collector script gathers task/ too (run here through the
    // local sh: the same script a sidecar runs, no container involved).
    const viaScript = await diagnose({ reader: new ContainerProcReader(localExec, { name: 'local', sidecar: false }), pids: waiters, samples: 2, intervalMs: 100 });
    expectCulprit(viaScript, 'silent-peer', holder.pid, waiters);
    expect(viaScript.culprit?.tid).toBe(tid);
    expect(viaScript.culprit?.resource).toMatchObject({ type: 'tcp', state: 'ESTABLISHED', remote: `127.0.0.1:${port}` });
  });

  test('multi-threaded holder whose worker thread spins while the main thread joins: busy-loop, thread named', async () => {
    const { holder, tid, waiters } = await threadedConvoy('thread-spin', 2, ['running']);
    const d = await diagnose({ pids: waiters, samples: 2, intervalMs: 300 });
    expectCulprit(d, 'busy-loop', holder.pid, waiters);
    expect(d.culprit?.tid).toBe(tid);
    expect(d.culprit?.resource.type).toBe('cpu');
  });

  test('flock convoy behind a holder reading from a silent peer (recvfrom): silent-peer, service named', async () => {
    const { holder, waiters, lockFile } = await convoy({ kind: 'flock', mode: 'recv' }, 3, ['recvfrom']);
    const port = Number(holder.lines.find((l) => l.startsWith('port '))?.split(' ')[1]);
    const d = await diagnose({
      match: scope(),
      samples: 2,
      intervalMs: 200,
      registry: { services: [{ name: 'storage', addresses: [{ host: '127.0.0.1', port }] }] },
    });
    expectCulprit(d, 'silent-peer', holder.pid, waiters);
    expect(d.culprit?.syscall).toMatch(/^recvfrom\(fd \d+\)$/);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'ESTABLISHED', txQueue: 0, rxQueue: 0, service: 'storage' });
    expect(d.culprit?.resource.remote).toBe(`127.0.0.1:${port}`);
    expect(d.culprit?.holds[0]).toMatchObject({ type: 'FLOCK', access: 'WRITE', path: lockFile });
    // The diagnoser never matches itself: jest's command line does not contain the temp dir,
    // but the processes it reports are exactly the helpers.
    expect(d.processes.map((p) => p.pid).sort((a, b) => a - b)).toEqual([holder.pid, ...waiters].sort((a, b) => a - b));
  });

  test('POSIX (fcntl) convoy behind a holder reading with a timeout (poll; fd found through /proc/PID/mem)', async () => {
    const { holder, waiters } = await convoy({ kind: 'fcntl', mode: 'recv-poll' }, 2, ['poll', 'ppoll']);
    const d = await diagnose({ pids: waiters, samples: 2, intervalMs: 200 });
    expectCulprit(d, 'silent-peer', holder.pid, waiters);
    expect(d.culprit?.syscall).toMatch(/^p?poll\(1 fd/);
    expect(d.culprit?.holds[0]).toMatchObject({ type: 'POSIX', access: 'WRITE' });
    expect(d.culprit?.evidence.join('\n')).toContain('pollfd array');
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'ESTABLISHED' });
  });

  test('flock convoy behind a holder writing to a peer that never reads: peer-not-reading', async () => {
    const { holder, waiters } = await convoy({ kind: 'flock', mode: 'send' }, 2, ['sendto', 'poll']);
    const d = await diagnose({ match: scope(), samples: 2, intervalMs: 200 });
    expectCulprit(d, 'peer-not-reading', holder.pid, waiters);
    expect(d.culprit?.resource.type).toBe('tcp');
    expect(d.culprit?.resource.txQueue).toBeGreaterThan(0);
  });

  test('POSIX convoy behind a spinning holder: busy-loop', async () => {
    const { holder, waiters } = await convoy({ kind: 'fcntl', mode: 'spin' }, 2, ['running']);
    const d = await diagnose({ match: scope(), samples: 2, intervalMs: 300 });
    expectCulprit(d, 'busy-loop', holder.pid, waiters);
    expect(d.culprit?.resource.type).toBe('cpu');
  });

  test('flock convoy behind a sleeping holder: slow-holder', async () => {
    const { holder, waiters } = await convoy({ kind: 'flock', mode: 'sleep' }, 2, ['clock_nanosleep', 'nanosleep', 'select']);
    const d = await diagnose({ match: scope(), samples: 2, intervalMs: 200 });
    expectCulprit(d, 'slow-holder', holder.pid, waiters);
  });

  test('POSIX convoy behind a holder sleeping: slow-holder (fcntl lock)', async () => {
    const { holder, waiters } = await convoy({ kind: 'fcntl', mode: 'sleep' }, 1, ['clock_nanosleep', 'nanosleep', 'select']);
    const d = await diagnose({ pids: [holder.pid], samples: 2, intervalMs: 100 });
    // Selecting only the holder still brings in its waiters (lock-connected processes).
    expectCulprit(d, 'slow-holder', holder.pid, waiters);
  });

  test('flock convoy behind a holder reading from a peer that trickles bytes: slow-peer', async () => {
    const { holder, waiters } = await convoy({ kind: 'flock', mode: 'trickle' }, 2, ['recvfrom']);
    const d = await diagnose({ match: scope(), samples: 2, intervalMs: 400 });
    expectCulprit(d, 'slow-peer', holder.pid, waiters);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'ESTABLISHED' });
  });

  test('flock convoy behind a holder connecting to a listener whose backlog is full: connect-stall', async () => {
    const { holder, waiters } = await convoy({ kind: 'flock', mode: 'connect' }, 2, ['connect']);
    const port = Number(holder.lines.find((l) => l.startsWith('port '))?.split(' ')[1]);
    const d = await diagnose({ match: scope(), samples: 2, intervalMs: 200 });
    expectCulprit(d, 'connect-stall', holder.pid, waiters);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'SYN_SENT', remote: `127.0.0.1:${port}` });
  });

  test('two-level chain: waiters -> lock A -> holder waiting on lock B -> root reading a silent socket', async () => {
    const lockB = path.join(dir, 'level-b.lock');
    const lockA = path.join(dir, 'level-a.lock');
    const root = await spawnHelper(['holder', lockB, 'flock', 'recv']);
    await waitFor('root in recvfrom', () => syscallOf(root.pid) === 'recvfrom');
    const middle = await spawnHelper(['holder', lockA, 'flock', `then-lock:${lockB}`]);
    const outer = [
      (await spawnHelper(['waiter', lockA, 'flock'])).pid,
      (await spawnHelper(['waiter', lockA, 'flock'])).pid,
    ];
    await waitFor('both levels queued', () => {
      const w = lockWaiters();
      return w.has(middle.pid) && outer.every((p) => w.has(p));
    });
    const d = await diagnose({ pids: outer, samples: 2, intervalMs: 200 });
    expectCulprit(d, 'silent-peer', root.pid, [middle.pid, ...outer]);
    const chain = d.chains.find((c) => c.root === root.pid);
    expect(chain?.links.map((l) => [l.lock.path, l.holder, l.waiters])).toEqual([
      [lockB, root.pid, [middle.pid]],
      [lockA, middle.pid, [...outer].sort((a, b) => a - b)],
    ]);
    expect(d.processes.find((p) => p.pid === middle.pid)?.role).toBe('holder');
  });

  test('two processes each waiting for the other\'s flock (flock has no deadlock detection): lock-cycle', async () => {
    const a = path.join(dir, 'cycle-a.lock');
    const b = path.join(dir, 'cycle-b.lock');
    // Each takes its own lock, waits 1 s (so both hold one), then asks for the other's.
    const x = await spawnHelper(['holder', a, 'flock', `after-1s-lock:${b}`]);
    const y = await spawnHelper(['holder', b, 'flock', `after-1s-lock:${a}`]);
    const outsider = (await spawnHelper(['waiter', a, 'flock'])).pid;
    await waitFor('both in the cycle', () => {
      const w = lockWaiters();
      return w.has(x.pid) && w.has(y.pid) && w.has(outsider);
    });
    const d = await diagnose({ pids: [x.pid], samples: 2, intervalMs: 100 });
    expect(d.verdict).toBe('stuck');
    expect(d.culprit?.kind).toBe('lock-cycle');
    const cycle = d.chains.find((ch) => ch.kind === 'lock-cycle');
    expect([...(cycle?.cycle ?? [])].sort((m, n) => m - n)).toEqual([x.pid, y.pid].sort((m, n) => m - n));
    expect(d.culprit?.waiters).toEqual(expect.arrayContaining([outsider]));
  });

  test('an idle pool (accept, accept-mutex waiters) has no culprit', async () => {
    const mutex = path.join(dir, 'accept.mutex');
    const leader = await spawnHelper(['idle', mutex, '4']);
    await waitFor('3 workers queued on the accept mutex', () => {
      const pool = d0pids(leader.pid);
      return pool.length === 4 && pool.filter((p) => lockWaiters().has(p)).length === 3 && pool.some((p) => syscallOf(p) === 'accept4' || syscallOf(p) === 'accept');
    });
    const d = await diagnose({ match: scope(), samples: 2, intervalMs: 200 });
    expect(d.processes.length).toBe(4);
    expect(d.verdict).toBe('healthy');
    expect(d.culprit).toBeNull();
    expect(d.chains.find((c) => c.waiters.length === 3)?.kind).toBe('idle');
    expect(d.processes.some((p) => p.pid === leader.pid)).toBe(true);
  });

  test('processes exiting mid-scan never crash the diagnosis', async () => {
    const { holder, waiters } = await convoy({ kind: 'flock', mode: 'recv' }, 2, ['recvfrom']);
    const churn: ChildProcess[] = [];
    for (let i = 0; i < 20; i++) {
      const c = spawn('python3', ['-c', 'import time; time.sleep(0.01 * (1 + __import__("random").random()))', dir], {
        stdio: 'ignore',
        detached: true,
      });
      churn.push(c);
      children.push(c);
    }
    const d = await diagnose({ match: scope(), samples: 3, intervalMs: 20 });
    expect(d.culprit?.pid).toBe(holder.pid);
    expect(d.culprit?.waiters).toEqual(expect.arrayContaining(waiters));
  });

  test('CLI: --pid prints JSON with the documented shape and exits 1 when stuck; bad flags are usage errors', async () => {
    const { holder, waiters } = await convoy({ kind: 'fcntl', mode: 'recv' }, 2, ['recvfrom']);
    const io = captureIO({});
    const code = await diagnoseCommand(['--pid', String(waiters[0]), '--json', '--samples', '2', '--interval', '100'], io);
    expect(code).toBe(1);
    const json = JSON.parse(io.out()) as Record<string, any>;
    expect(json.verdict).toBe('stuck');
    expect(json.culprit.pid).toBe(holder.pid);
    expect(json.culprit.kind).toBe('silent-peer');
    expect(json.culprit.resource.type).toBe('tcp');
    expect(Array.isArray(json.chains)).toBe(true);
    expect(Array.isArray(json.processes)).toBe(true);

    const text = captureIO({});
    expect(await diagnoseCommand(['--match', dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')], text)).toBe(1);
    expect(text.out()).toContain(`STUCK: silent-peer — pid ${holder.pid}`);

    await expect(diagnoseCommand(['--pid', 'abc'], io)).rejects.toMatchObject({ code: 'FAULTLINE_USAGE' });
    await expect(diagnoseCommand(['--samples', '0', '--pid', '1'], io)).rejects.toMatchObject({ code: 'FAULTLINE_USAGE' });
    await expect(diagnoseCommand(['--match', '(unclosed'], io)).rejects.toMatchObject({ code: 'FAULTLINE_USAGE' });
    await expect(diagnoseCommand(['--json'], io)).rejects.toMatchObject({ code: 'FAULTLINE_USAGE' });
  });
});
