/**
 * Live: how long a sleeping process has not run on a CPU, read from /proc/PID/sched, matches the
 * time it has really slept, on every CPU. The scheduler's task clock lags /proc/uptime by a
 * different amount per CPU (cpu-clock.ts; 60 s on this platform's VM after 19 h), so without the
 * correction a sleeper 2 s old reads a minute, and one on the other CPU reads older or younger than
 * its neighbours. Checked locally and through the container reader's collector script.
 *
 * Each sleeper is a shell that first waits 3 s and then execs `sleep`: it has existed longer than it
 * has slept, so the cap by its lifetime cannot hide a wrong reading.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { promisify } from 'node:util';
import { collect, ContainerProcReader, LocalProcReader, type ProcReader } from '../../harness/diagnose';
import { newRun } from '../../harness/engine/labels';
import { startSidecar, type Sidecar } from '../../harness/engine/sidecar';
import { connectDocker } from '../../harness/engine/docker';
import { ImageStore } from '../../harness/engine/images';

const run = promisify(execFile);
const docker = async (...args: string[]): Promise<string> => (await run('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();
const CPUS = Math.min(os.availableParallelism(), 4);
const SLEPT_MS = 2500;
/** uptime has 10 ms steps; the scheduler's clock a tick (4 ms); a /proc read takes a few. */
const TOLERANCE_MS = 60;
const SLEEPER = 'sleep 3; exec sleep 600';

/** Polls until each pid has exec'd `sleep`: per pid, the window [lo, hi] (Date.now) it happened in. */
async function execWindows(pids: number[], comm: (pid: number) => Promise<string>): Promise<Map<number, [number, number]>> {
  const out = new Map<number, [number, number]>();
  const last = new Map<number, number>();
  const deadline = Date.now() + 20_000;
  while (out.size < pids.length && Date.now() < deadline) {
    const lo = Date.now();
    const names = await Promise.all(pids.map((p) => comm(p).catch(() => '')));
    const hi = Date.now();
    pids.forEach((p, i) => {
      if (!out.has(p) && names[i]?.trim() === 'sleep') out.set(p, [last.get(p) ?? lo, hi]);
      else last.set(p, lo);
    });
    await new Promise((r) => setTimeout(r, 20));
  }
  return out;
}

/** Each pid's age, read now, lies between the time since its window's end and since its start. */
async function expectAges(reader: ProcReader, windows: Map<number, [number, number]>): Promise<void> {
  await new Promise((r) => setTimeout(r, SLEPT_MS));
  const before = Date.now();
  const ages = await agesOf(reader, [...windows.keys()]);
  const after = Date.now();
  for (const [pid, [lo, hi]] of windows) {
    const age = ages.get(pid);
    expect({ pid, age }).toEqual({ pid, age: expect.any(Number) });
    expect(age).toBeGreaterThanOrEqual(before - hi - TOLERANCE_MS);
    expect(age).toBeLessThanOrEqual(after - lo + TOLERANCE_MS);
  }
}

async function agesOf(reader: ProcReader, pids: number[]): Promise<Map<number, number | undefined>> {
  const c = await collect(reader, { pids, samples: 1, intervalMs: 0 });
  const last = c.samples[c.samples.length - 1];
  return new Map(pids.map((pid) => [pid, last?.processes.get(pid)?.notRunForMs]));
}

describe('a sleeper’s age is its real sleep on every CPU', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill('SIGKILL');
  });

  test('local /proc: one sleeper pinned to each CPU', async () => {
    for (let cpu = 0; cpu < CPUS; cpu++) children.push(spawn('taskset', ['-c', String(cpu), 'sh', '-c', SLEEPER], { stdio: 'ignore' }));
    const pids = children.map((c) => c.pid as number);
    const windows = await execWindows(pids, async (pid) => fs.promises.readFile(`/proc/${pid}/comm`, 'utf8'));
    expect(windows.size).toBe(CPUS);
    await expectAges(new LocalProcReader(), windows);
  }, 60_000);

  describe('inside a container (collector script)', () => {
    const identity = newRun('clock');
    const name = `faultline-clock-${identity.runId}`;
    let sidecar: Sidecar | undefined;
    afterAll(async () => {
      await sidecar?.stop().catch(() => undefined);
      await docker('rm', '-f', name).catch(() => undefined);
    });

    test('one sleeper pinned to each CPU', async () => {
      const { docker: engine } = await connectDocker();
      const image = await new ImageStore(engine).ensure('toolbox');
      const labels = Object.entries(identity.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
      await docker('run', '-d', '--name', name, '--cap-drop', 'ALL', ...labels, image, 'sleep', 'infinity');
      const script = Array.from({ length: CPUS }, (_, cpu) => `taskset -c ${cpu} sh -c '${SLEEPER}' >/dev/null 2>&1 & echo $!`).join('; ');
      const pids = (await docker('exec', name, 'sh', '-c', script)).split('\n').map(Number);
      const windows = await execWindows(pids, (pid) => docker('exec', name, 'cat', `/proc/${pid}/comm`));
      expect(windows.size).toBe(CPUS);
      const execer = {
        exec: async (argv: string[]) => {
          try {
            const r = await run('docker', ['exec', name, ...argv], { maxBuffer: 64 << 20 });
            return { exitCode: 0, stdout: r.stdout, stderr: r.stderr };
          } catch (e) {
            const f = e as { code?: number; stdout?: string; stderr?: string };
            return { exitCode: typeof f.code === 'number' ? f.code : 1, stdout: f.stdout ?? '', stderr: f.stderr ?? '' };
          }
        },
      };
      await expectAges(new ContainerProcReader(execer, { name, sidecar: false }), windows);
      // Through a sidecar (its own /tmp keeps the probes between samples): twice, the second
      // served from the cache.
      sidecar = await startSidecar({ target: name, sharePid: true, capabilities: ['SYS_PTRACE'], labels: identity.labels, image });
      const viaSidecar = new ContainerProcReader(sidecar, { name });
      await expectAges(viaSidecar, windows);
      await expectAges(viaSidecar, windows);
    }, 180_000);
  });
});
