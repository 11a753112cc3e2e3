/**
 * Benchmark (not a test): time to a diagnosis of a hung pool of 200 local processes — one holder
 * (flock, then a read from a silent loopback peer) and 199 waiters — for faultline (one sample,
 * and the default two) against a scripted version of the manual method in the same run: the real
 * `strace -p` (short timeout per process) and `lsof -p` over the pool, then the lock file's
 * holders (`lslocks`). Also times container mode (the same pool in a container, read through a
 * SYS_PTRACE sidecar). Last line:
 *
 *   diagnose: faultline <P50> ms, baseline <B> ms, ratio <R>x, same culprit: yes|no
 *
 * Env: BENCH_POOL (200), BENCH_STRACE_TIMEOUT (0.1 s), BENCH_SKIP_CONTAINER=1.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';
import { ContainerProcReader, diagnose } from '../harness/diagnose';

const run = promisify(execFile);
const POOL = Number(process.env.BENCH_POOL ?? 200);
const STRACE_TIMEOUT = process.env.BENCH_STRACE_TIMEOUT ?? '0.1';
const children: ChildProcess[] = [];
let tmp = '';

const HOLDER_PY = `
import fcntl, socket, sys, time
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(5)
f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)
c = socket.create_connection(('127.0.0.1', srv.getsockname()[1])); peer, _ = srv.accept()
print('ready', flush=True)
c.recv(10)
`;

const HOLDER_PL = `
use IO::Socket::INET; use Fcntl qw(:flock);
my $srv = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0) or die;
open(my $fh, '>', '/tmp/sess_bench') or die; flock($fh, LOCK_EX) or die;
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->sockport) or die;
my $peer = $srv->accept;
my $buf; sysread($c, $buf, 10);
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function p50(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] as number;
}

function lockWaiters(): number {
  return (fs.readFileSync('/proc/locks', 'utf8').match(/->/g) ?? []).length;
}

async function startPool(lockFile: string): Promise<{ holder: number; pids: number[] }> {
  const holder = spawn('python3', ['-c', HOLDER_PY, lockFile], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(holder);
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
    holder.on('exit', () => reject(new Error('holder exited')));
  });
  const before = lockWaiters();
  const pids = [holder.pid as number];
  for (let i = 0; i < POOL - 1; i++) {
    // util-linux flock: a light waiter blocked in flock(2) on the session file.
    const w = spawn('flock', [lockFile, 'true'], { stdio: 'ignore', detached: true });
    children.push(w);
    pids.push(w.pid as number);
  }
  for (let i = 0; i < 600 && lockWaiters() - before < POOL - 1; i++) await sleep(50);
  await sleep(300);
  return { holder: holder.pid as number, pids };
}

/** The manual method, scripted: strace -p and lsof -p on every process, then the lock's holders. */
async function baseline(pids: number[], lockFile: string): Promise<{ ms: number; culprit?: number }> {
  const started = performance.now();
  const syscalls = new Map<number, string>();
  for (const pid of pids) {
    // strace prints the call the process is blocked in, unfinished; timeout detaches it.
    const r = await run('timeout', [STRACE_TIMEOUT, 'strace', '-p', String(pid)]).catch((e: { stderr?: string }) => e);
    const line = (r.stderr ?? '').split('\n').find((l) => /^[a-z_0-9]+\(/.test(l));
    syscalls.set(pid, line ?? '');
  }
  const lsof = new Map<number, string>();
  for (const pid of pids) {
    const r = await run('lsof', ['-nP', '-p', String(pid)]).catch((e: { stdout?: string }) => e);
    lsof.set(pid, r.stdout ?? '');
  }
  // Most are in flock() on the same file: who holds it? lslocks shows holder and blockers.
  const waitingOnLock = [...syscalls].filter(([, s]) => s.startsWith('flock(')).map(([p]) => p);
  const locks = JSON.parse((await run('lslocks', ['-J', '-o', 'PID,BLOCKER,PATH'], { maxBuffer: 16 << 20 })).stdout) as {
    locks: Array<{ pid: number; blocker: number | null; path: string | null }>;
  };
  let holder: number | undefined;
  for (const l of locks.locks) {
    if (l.path === lockFile && l.blocker === null && !waitingOnLock.includes(Number(l.pid))) holder = Number(l.pid);
  }
  // The holder's own strace line and lsof say what it waits on: a read from a TCP socket.
  const culprit = holder !== undefined && /^(recvfrom|read|poll)\(/.test(syscalls.get(holder) ?? '') && /TCP/.test(lsof.get(holder) ?? '') ? holder : undefined;
  return { ms: performance.now() - started, culprit };
}

async function containerMode(): Promise<string> {
  const { startSidecar } = await import('../harness/engine/sidecar');
  const { newRun } = await import('../harness/engine/labels');
  const identity = newRun('bench');
  const name = `faultline-bench-diag-${identity.runId}`;
  const labels = Object.entries(identity.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  const { connectDocker } = await import('../harness/engine/docker');
  const { ImageStore } = await import('../harness/engine/images');
  const image = await new ImageStore((await connectDocker()).docker).ensure('toolbox');
  await run('docker', ['run', '-d', '--name', name, ...labels, image, 'sleep', 'infinity']);
  try {
    await run('docker', ['exec', name, 'sh', '-c', `perl -e '${HOLDER_PL.replace(/'/g, `'\\''`)}' >/dev/null 2>&1 &`]);
    await sleep(300);
    await run('docker', ['exec', name, 'sh', '-c', `i=1; while [ $i -lt ${POOL} ]; do flock /tmp/sess_bench true >/dev/null 2>&1 & i=$((i+1)); done`]);
    for (let i = 0; i < 600; i++) {
      const locks = (await run('docker', ['exec', name, 'cat', '/proc/locks'])).stdout;
      if ((locks.match(/->/g) ?? []).length >= POOL - 1) break;
      await sleep(100);
    }
    const sidecar = await startSidecar({ target: name, sharePid: true, capabilities: ['SYS_PTRACE'], labels: identity.labels, image });
    try {
      const reader = new ContainerProcReader(sidecar, { name });
      const times: number[] = [];
      let kind = '';
      let waiters = 0;
      for (let i = 0; i < 10; i++) {
        const t = performance.now();
        const d = await diagnose({ reader, samples: 1 });
        times.push(performance.now() - t);
        kind = d.culprit?.kind ?? 'none';
        waiters = d.culprit?.waiters.length ?? 0;
      }
      return `container: faultline ${p50(times).toFixed(0)} ms (one sample, ${POOL} processes through a SYS_PTRACE sidecar; culprit ${kind} with ${waiters} waiters)`;
    } finally {
      await sidecar.stop();
    }
  } finally {
    await run('docker', ['rm', '-f', name]).catch(() => undefined);
  }
}

function cleanup(): void {
  for (const c of children.splice(0)) {
    try {
      process.kill(-(c.pid as number), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

async function main(): Promise<void> {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-bench-'));
  const lockFile = path.join(tmp, 'sess_bench');
  const { holder, pids } = await startPool(lockFile);
  console.log(`pool: ${pids.length} processes, holder ${holder}, ${lockWaiters()} lock waiters on the host`);

  // Warm-up (module load, JIT), then the measured runs.
  await diagnose({ pids, samples: 1 });
  const one: number[] = [];
  let culprit: number | undefined;
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    const d = await diagnose({ pids, samples: 1 });
    one.push(performance.now() - t);
    culprit = d.culprit?.pid;
  }
  const def: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await diagnose({ pids });
    def.push(performance.now() - t);
  }
  const fl = p50(one);
  console.log(`faultline one sample: p50 ${fl.toFixed(1)} ms (min ${Math.min(...one).toFixed(1)}, max ${Math.max(...one).toFixed(1)}, n=${one.length})`);
  console.log(`faultline default (2 samples, 250 ms apart): p50 ${p50(def).toFixed(1)} ms (n=${def.length})`);

  const base = await baseline(pids, lockFile);
  console.log(`baseline (timeout ${STRACE_TIMEOUT} strace -p, lsof -p over ${pids.length} processes, lslocks): ${base.ms.toFixed(0)} ms, culprit ${base.culprit ?? 'not found'}`);
  cleanup();

  let containerLine = 'container: skipped (BENCH_SKIP_CONTAINER=1)';
  if (process.env.BENCH_SKIP_CONTAINER !== '1') {
    containerLine = await containerMode().catch((e: Error) => `container: failed (${e.message.split('\n')[0]})`);
  }
  console.log(containerLine);
  const ratio = base.ms / fl;
  const containerMs = Number(/faultline ([0-9]+) ms/.exec(containerLine)?.[1] ?? NaN);
  const floors = [
    `one-sample p50 ${fl.toFixed(1)} <= 100 ms: ${fl <= 100 ? 'ok' : 'MISSED'}`,
    `ratio ${ratio.toFixed(0)} >= 50: ${ratio >= 50 ? 'ok' : 'MISSED'}`,
    `container ${Number.isNaN(containerMs) ? 'n/a' : `${containerMs} <= 500 ms: ${containerMs <= 500 ? 'ok' : 'MISSED'}`}`,
  ];
  console.log(`floors: ${floors.join('; ')}`);
  const same = culprit !== undefined && culprit === base.culprit && culprit === holder;
  console.log(`diagnose: faultline ${fl.toFixed(1)} ms, baseline ${base.ms.toFixed(0)} ms, ratio ${ratio.toFixed(0)}x, same culprit: ${same ? 'yes' : 'no'}`);
}

process.on('SIGINT', () => {
  cleanup();
  process.exit(130);
});

main()
  .catch((e) => {
    console.error(e);
    process.exitCode = 1;
  })
  .finally(cleanup);
