/**
 * Benchmark (not a test): what `faultline watch` costs on a hung pool of 200 local processes —
 * one holder (flock, then a read from a silent loopback peer) and 199 waiters (util-linux flock),
 * as bench/diagnose.ts builds it — at the default interval, with /metrics scraped every interval
 * as Prometheus would. The watcher runs as users run it (bin/faultline.js, or the single-file
 * bundle with BENCH_WATCH_BIN=bundle). Its CPU is that of the whole process tree (the watcher, any
 * child still running and the children it reaped: ss, taskset), read from /proc/PID/stat after a
 * warm-up (module load, the first samples, and the heap reduction V8 runs once, ~17 s after
 * start: ~120 ms of marking, printed as the start-up cost); its RSS from /proc/PID/status at the
 * end. Last line:
 *
 *   watch: <N> processes, interval <I> s, cpu <P>% of one core, rss <M> MB
 *
 * Floor: under 1% of one core for 200 processes at the default interval.
 * Env: BENCH_POOL (200), BENCH_INTERVAL (the default, 5 s), BENCH_SECONDS (120), BENCH_WARMUP (30 s), BENCH_WATCH_BIN,
 * BENCH_NODE_ARGS (extra node flags for the watcher, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_INTERVAL_S } from '../harness/watch';

const POOL = Number(process.env.BENCH_POOL ?? 200);
const INTERVAL_S = Number(process.env.BENCH_INTERVAL ?? DEFAULT_INTERVAL_S);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 120);
const WARMUP_S = Math.max(Number(process.env.BENCH_WARMUP ?? 30), INTERVAL_S * 2);
const REPO = path.join(__dirname, '..');
const children: ChildProcess[] = [];
let tmp = '';

const HOLDER_PY = `
import fcntl, socket, sys
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(5)
f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)
c = socket.create_connection(('127.0.0.1', srv.getsockname()[1])); peer, _ = srv.accept()
print('ready', flush=True)
c.recv(10)
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

function lockWaiters(): number {
  return (fs.readFileSync('/proc/locks', 'utf8').match(/->/g) ?? []).length;
}

/** The process and its live descendants. */
function tree(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    /* gone */
  }
  return [pid, ...kids.flatMap(tree)];
}

/** The tree's CPU and that of the children it reaped (the ss it runs is part of its cost). */
function cpuSeconds(pid: number): number {
  let sum = 0;
  for (const p of tree(pid)) {
    const stat = fs.readFileSync(`/proc/${p}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    sum += (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / CLK_TCK; // utime + stime + cutime + cstime
  }
  return sum;
}

function rssMb(pid: number): number {
  let kb = 0;
  for (const p of tree(pid)) kb += Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

async function startPool(lockFile: string): Promise<void> {
  const holder = spawn('python3', ['-c', HOLDER_PY, lockFile], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(holder);
  await new Promise<void>((resolve, reject) => {
    holder.stdout?.on('data', (c: Buffer) => c.toString().includes('ready') && resolve());
    holder.on('exit', () => reject(new Error('holder exited')));
  });
  const before = lockWaiters();
  for (let i = 0; i < POOL - 1; i++) children.push(spawn('flock', [lockFile, 'true'], { stdio: 'ignore', detached: true }));
  for (let i = 0; i < 600 && lockWaiters() - before < POOL - 1; i++) await sleep(50);
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
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-bench-watch-'));
  await startPool(path.join(tmp, 'sess_bench'));
  const bundle = process.env.BENCH_WATCH_BIN === 'bundle';
  const bin = bundle ? path.join(REPO, 'dist', 'faultline-diagnose.cjs') : path.join(REPO, 'bin', 'faultline.js');
  if (bundle && !fs.existsSync(bin)) throw new Error(`${bin} missing: npm run build first`);
  const watch = spawn(process.execPath, [...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean), bin, 'watch', '--match', tmp, '--interval', String(INTERVAL_S), '--listen', '127.0.0.1:0', '--out', path.join(tmp, 'incidents')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  children.push(watch);
  let stderr = '';
  watch.stderr?.on('data', (c) => (stderr += c));
  for (let i = 0; i < 600 && !/metrics on http:\/\/(\S+)\/metrics/.test(stderr); i++) await sleep(50);
  const address = /metrics on http:\/\/(\S+)\/metrics/.exec(stderr)?.[1];
  if (!address) throw new Error(`watch did not start: ${stderr}`);
  const scrape = async () => (await fetch(`http://${address}/metrics`)).text();
  const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

  // Warm-up: module load, the first samples and V8's one-time heap reduction are not the steady cost.
  const started = performance.now();
  await sleep(WARMUP_S * 1000 + 500);
  const pid = watch.pid as number;
  const cpu0 = cpuSeconds(pid);
  const warmupS = (performance.now() - started) / 1000;
  const m0 = await scrape();
  const t0 = performance.now();
  while (performance.now() - t0 < SECONDS * 1000) {
    await sleep(INTERVAL_S * 1000);
    await scrape();
  }
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = cpuSeconds(pid) - cpu0;
  const m1 = await scrape();
  const rss = rssMb(pid);
  const processes0 = tree(pid).length;
  const samples = metric(m1, 'faultline_sample_duration_seconds_count') - metric(m0, 'faultline_sample_duration_seconds_count');
  const wall = metric(m1, 'faultline_sample_duration_seconds_sum') - metric(m0, 'faultline_sample_duration_seconds_sum');
  const sampleCpu = metric(m1, 'faultline_sample_cpu_seconds_total') - metric(m0, 'faultline_sample_cpu_seconds_total');
  const processes = metric(m1, 'faultline_pool_processes');
  const verdict = /^faultline_verdict\{verdict="(\w+)"\} 1$/m.exec(m1)?.[1];
  watch.kill('SIGTERM');
  const pct = (cpu / elapsedS) * 100;
  console.log(`bin: ${bundle ? 'dist/faultline-diagnose.cjs' : 'bin/faultline.js'} (${processes0} process${processes0 === 1 ? '' : 'es'}); measured ${elapsedS.toFixed(0)} s after a ${warmupS.toFixed(0)} s warm-up; verdict ${verdict}`);
  console.log(`start-up: ${cpu0.toFixed(2)} s cpu in the first ${warmupS.toFixed(0)} s (module load, first samples, V8's one-time heap reduction)`);
  console.log(`per sample: ${(wall / samples * 1000).toFixed(0)} ms wall (one /proc reading, compared with the previous tick's, and the analysis), ${(sampleCpu / samples * 1000).toFixed(1)} ms cpu (n=${samples})`);
  console.log(`floor: cpu ${pct.toFixed(2)}% < 1% of one core at ${INTERVAL_S} s for ${processes} processes: ${pct < 1 ? 'ok' : 'MISSED'}`);
  console.log(`watch: ${processes} processes, interval ${INTERVAL_S} s, cpu ${pct.toFixed(2)}% of one core, rss ${rss.toFixed(0)} MB`);
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
