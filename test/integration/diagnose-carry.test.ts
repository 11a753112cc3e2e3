/**
 * Live test of what a watch carries between ticks (harness/diagnose/carry.ts), on real local
 * processes over loopback: a reader blocked on a silent socket lets the next tick reuse the last
 * tick's socket times, advanced, and the carried ages track what a fresh ss reads; the moment a
 * byte moves (the peer sends, the reader wakes) ss runs again; after SOCKETS_REUSE carried ticks it
 * runs anyway. The rule must not fire where something moves: a chatty connection, a
 * multi-threaded reader. And a diagnosis from carried facts is the one fresh readings give: a hung
 * pool (flock holder on a silent socket, waiters queued) is stuck with the same culprit; a healthy
 * chatty process is never called stuck.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { analyze, DEFAULT_STUCK_AFTER_MS } from '../../harness/diagnose/analyze';
import { CollectCarry, SOCKETS_REUSE } from '../../harness/diagnose/carry';
import { collect } from '../../harness/diagnose/collect';
import type { Sample } from '../../harness/diagnose/model';
import { LocalProcReader } from '../../harness/diagnose/procfs';

jest.setTimeout(60_000);

// Blocks in recv on a loopback connection whose peer (the same process, another fd) stays silent
// until a line on stdin asks it to send one byte; the reader then reads it and blocks again.
const SILENT_PEER = `
import os, socket, sys
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(5)
c = socket.create_connection(('127.0.0.1', srv.getsockname()[1])); peer, _ = srv.accept()
if os.fork() == 0:
    for line in sys.stdin:
        peer.send(b'x')
    os._exit(0)
print('ready', flush=True)
while True:
    c.recv(1)
`;

let children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children) {
    try {
      process.kill(-(c.pid as number), 'SIGKILL'); // its group: forked peers and flock waiters too
    } catch {
      /* gone */
    }
  }
  children = [];
});

// The culprit of the incident: takes a flock, then reads forever from a silent loopback peer.
const LOCK_HOLDER = `
import fcntl, socket, sys
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(5)
f = open(sys.argv[1], 'a+'); fcntl.flock(f, fcntl.LOCK_EX)
c = socket.create_connection(('127.0.0.1', srv.getsockname()[1])); peer, _ = srv.accept()
print('ready', flush=True)
c.recv(10)
`;

// Healthy, ordinary load: a request every 50 ms, answered at once by its peer (a forked child).
const CHATTY = `
import os, socket, time
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(5)
c = socket.create_connection(('127.0.0.1', srv.getsockname()[1])); peer, _ = srv.accept()
if os.fork() == 0:
    while True:
        peer.recv(1); peer.send(b'x')
print('ready', flush=True)
while True:
    c.send(b'q'); c.recv(1); time.sleep(0.05)
`;

// Multi-threaded: the main thread joins a thread that reads from a silent peer.
const THREADED = `
import socket, threading
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(5)
c = socket.create_connection(('127.0.0.1', srv.getsockname()[1])); peer, _ = srv.accept()
t = threading.Thread(target=lambda: c.recv(1)); t.start()
print('ready', flush=True)
t.join()
`;

async function start(source: string, args: string[] = []): Promise<ChildProcess> {
  const child = spawn('python3', ['-c', source, ...args], { stdio: ['pipe', 'pipe', 'inherit'], detached: true });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`helper exited ${code}`)));
  });
  await new Promise((r) => setTimeout(r, 200)); // in recv
  return child;
}

const silentReader = (): Promise<ChildProcess> => start(SILENT_PEER);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function socketOf(s: Sample, pid: number): { via: string; lastrcvMs?: number } {
  const diag = [...(s.sockets?.values() ?? [])][0];
  if (!diag?.ok) throw new Error(`no socket times: ${JSON.stringify(diag)}`);
  const fd = s.processes.get(pid)?.fds?.find((f) => f.tcp?.state === 'ESTABLISHED' && f.sock && f.tcp.remote.port !== 0 && f.sock.lastrcvMs !== undefined);
  return { via: diag.via, lastrcvMs: fd?.sock?.lastrcvMs };
}

test('a silent socket: the next ticks carry its times, advanced as a fresh ss reads them; every SOCKETS_REUSE ticks ss runs anew', async () => {
  const child = await silentReader();
  const pid = child.pid as number;
  const reader = new LocalProcReader();
  const carry = new CollectCarry();
  const tick = async () => (await collect(reader, { pids: [pid], samples: 1, intervalMs: 0, carry })).samples[0] as Sample;
  const vias: string[] = [];
  let carriedAge = 0;
  for (let i = 0; i < SOCKETS_REUSE + 2; i++) {
    const s = socketOf(await tick(), pid);
    vias.push(s.via);
    if (/carried/.test(s.via)) carriedAge = s.lastrcvMs as number;
    else if (i > 0 && carriedAge > 0) {
      // The first fresh reading after carried ones agrees with them (one tick's spacing apart).
      expect(Math.abs((s.lastrcvMs as number) - (carriedAge + 300))).toBeLessThan(250);
    }
    await sleep(300);
  }
  expect(vias[0]).toBe('ss -tinHe');
  expect(vias.slice(1, SOCKETS_REUSE + 1).every((v) => /carried/.test(v))).toBe(true);
  expect(vias[SOCKETS_REUSE + 1]).toBe('ss -tinHe');
});

test('a byte moves between two ticks: ss runs again and the age restarts', async () => {
  const child = await silentReader();
  const pid = child.pid as number;
  const reader = new LocalProcReader();
  const carry = new CollectCarry();
  const tick = async () => socketOf((await collect(reader, { pids: [pid], samples: 1, intervalMs: 0, carry })).samples[0] as Sample, pid);
  await tick();
  await sleep(800);
  const quiet = await tick();
  expect(quiet.via).toMatch(/carried/);
  expect(quiet.lastrcvMs as number).toBeGreaterThanOrEqual(800);
  child.stdin?.write('send\n');
  await sleep(300);
  const moved = await tick();
  expect(moved.via).toBe('ss -tinHe');
  expect(moved.lastrcvMs as number).toBeLessThan(600);
});

test('controls: a chatty connection and a multi-threaded reader are never carried', async () => {
  const reader = new LocalProcReader();
  // The chatty one is mostly between requests (no socket wait, so no ss at all); the threaded
  // one's reading thread waits on its socket, so ss runs on every tick.
  for (const [source, asksSs] of [
    [CHATTY, false],
    [THREADED, true],
  ] as const) {
    const child = await start(source);
    const pid = child.pid as number;
    const carry = new CollectCarry();
    const vias: string[] = [];
    for (let i = 0; i < 4; i++) {
      const s = (await collect(reader, { pids: [pid], samples: 1, intervalMs: 0, carry })).samples[0] as Sample;
      vias.push(...[...(s.sockets?.values() ?? [])].map((d) => (d.ok ? d.via : d.reason)));
      await sleep(300);
    }
    if (asksSs) expect(vias.length).toBe(4);
    expect(vias.filter((v) => /carried/.test(v))).toEqual([]);
  }
});

/** What the watch does: each tick one reading, compared with the previous tick's. */
async function watchTicks(pids: number[], ticks: number, gapMs: number, carry?: CollectCarry) {
  const reader = new LocalProcReader();
  let previous: Sample | undefined;
  let out: ReturnType<typeof analyze> | undefined;
  let via = '';
  for (let i = 0; i < ticks; i++) {
    const collected = await collect(reader, { pids, samples: 1, intervalMs: 0, carry });
    const last = collected.samples[0] as Sample;
    via = [...(last.sockets?.values() ?? [])].map((d) => (d.ok ? d.via : d.reason)).join(', ');
    if (previous) out = analyze({ ...collected, samples: [{ ...previous, index: 0 }, { ...last, index: 1 }] }, { stuckAfterMs: DEFAULT_STUCK_AFTER_MS });
    previous = last;
    if (i < ticks - 1) await sleep(gapMs);
  }
  return { diagnosis: out as ReturnType<typeof analyze>, via };
}


/** A hung pool in a fresh directory: LOCK_HOLDER on a silent socket and `n` flock waiters queued behind it. */
async function lockedPool(n: number, body: (pool: { holder: number; waiters: number[] }) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-carry-'));
  try {
    const lock = path.join(dir, 'sess_carry');
    const holder = await start(LOCK_HOLDER, [lock]);
    const waiters = Array.from({ length: n }, () => {
      const w = spawn('flock', [lock, 'true'], { stdio: 'ignore', detached: true });
      children.push(w);
      return w.pid as number;
    });
    await sleep(500);
    await body({ holder: holder.pid as number, waiters });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** LocalProcReader whose snapshots report each file they read (relative path) to `onRead`. */
function recordingReader(onRead: (rel: string) => void) {
  const inner = new LocalProcReader();
  return {
    description: inner.description,
    snapshot: async (hint?: Parameters<LocalProcReader['snapshot']>[0]) => {
      const snap = await inner.snapshot(hint);
      const read = snap.read.bind(snap);
      snap.read = (rel: string) => {
        onRead(rel);
        return read(rel);
      };
      return snap;
    },
  };
}

test('a hung pool diagnosed from carried facts: stuck, the same culprit as fresh readings name', () =>
  lockedPool(5, async ({ holder, waiters }) => {
    const pids = [holder, ...waiters];
    // Past the stuck threshold, so both ways must say stuck.
    const carried = await watchTicks(pids, 6, 1200, new CollectCarry());
    const fresh = await watchTicks(pids, 2, 1200);
    expect(carried.via).toMatch(/carried/);
    expect(fresh.via).toBe('ss -tinHe');
    expect(fresh.diagnosis.verdict).toBe('stuck');
    expect(carried.diagnosis.verdict).toBe(fresh.diagnosis.verdict);
    expect(carried.diagnosis.culprit?.pid).toBe(holder);
    expect(carried.diagnosis.culprit?.kind).toBe(fresh.diagnosis.culprit?.kind);
    expect(carried.diagnosis.culprit?.waiters.length).toBe(5);
  }));

test('healthy control: a chatty process watched with a carry is never called stuck', async () => {
  const child = await start(CHATTY);
  const { diagnosis, via } = await watchTicks([child.pid as number], 6, 1200, new CollectCarry());
  expect(via).not.toMatch(/carried/);
  expect(diagnosis.verdict).toBe('healthy');
  expect(diagnosis.culprit ?? undefined).toBeUndefined();
});

test('--match with a carry: a known pid is not read again to select it, a new matching process is selected on the next tick, an exited one dropped', async () => {
  const tag = `faultline-carry-select-${process.pid}`;
  const IDLE = `import time\nprint('ready', flush=True)\ntime.sleep(600)\n`;
  const a = await start(IDLE, [tag]);
  const b = await start(IDLE, [tag]);
  let cmdlineReads = 0;
  // Counts the cmdline reads of each snapshot (the selection reads every process's).
  const reader = recordingReader((rel) => {
    if (rel.endsWith('/cmdline')) cmdlineReads++;
  });
  const carry = new CollectCarry();
  const tick = async (): Promise<{ selected: number[]; reads: number }> => {
    cmdlineReads = 0;
    const c = await collect(reader, { match: new RegExp(tag), samples: 1, intervalMs: 0, carry });
    return { selected: [...c.selected].sort((x, y) => x - y), reads: cmdlineReads };
  };
  const first = await tick();
  expect(first.selected).toEqual([a.pid, b.pid].sort((x, y) => (x as number) - (y as number)));
  const second = await tick();
  expect(second.selected).toEqual(first.selected);
  // Every process was read on the first tick; on the second only the two selected ones (read in full).
  expect(first.reads).toBeGreaterThan(10);
  expect(second.reads).toBeLessThanOrEqual(2 + 2);
  const c = await start(IDLE, [tag]);
  expect((await tick()).selected).toContain(c.pid);
  a.kill('SIGKILL');
  await new Promise((r) => a.once('exit', r));
  await sleep(100);
  expect((await tick()).selected).not.toContain(a.pid);
}, 30_000);

test('lock waiters with a carry: one not scheduled since the last tick has its syscall and sched taken from it, its age still advancing; one that ran is read afresh', () =>
  lockedPool(4, async ({ holder, waiters }) => {
    const reads: string[] = [];
    const reader = recordingReader((rel) => reads.push(rel));
    const carry = new CollectCarry();
    const tick = async () => {
      reads.length = 0;
      const c = await collect(reader, { pids: [holder, ...waiters], samples: 1, intervalMs: 0, carry });
      return { sample: c.samples[0] as Sample, reads: [...reads] };
    };
    const readOf = (r: string[], pid: number, file: string) => r.includes(`${pid}/${file}`);
    const first = await tick();
    for (const pid of waiters) expect(readOf(first.reads, pid, 'syscall') && readOf(first.reads, pid, 'sched')).toBe(true);
    // Read light: every waiter but the first of its lock (whose fds name the lock), 3 of the 4.
    const light = waiters.filter((pid) => readOf(first.reads, pid, 'schedstat'));
    expect(light.length).toBe(3);
    // One of them runs between the ticks (stopped and continued: it wakes, then queues again).
    const ran = light[2] as number;
    process.kill(ran, 'SIGSTOP');
    await sleep(100);
    process.kill(ran, 'SIGCONT');
    await sleep(1000);
    const second = await tick();
    for (const pid of light.slice(0, 2)) {
      expect(readOf(second.reads, pid, 'schedstat')).toBe(true);
      expect(readOf(second.reads, pid, 'syscall') || readOf(second.reads, pid, 'sched')).toBe(false);
      const before = first.sample.processes.get(pid);
      const after = second.sample.processes.get(pid);
      expect(after?.syscallText).toBe(before?.syscallText);
      // The same exec_start a second later: the age grew by the time between the readings.
      expect((after?.notRunForMs as number) - (before?.notRunForMs as number)).toBeGreaterThan(900);
    }
    expect(readOf(second.reads, ran, 'syscall') && readOf(second.reads, ran, 'sched')).toBe(true);
    // Its age restarted when it ran (1 s before this tick); the others have slept since before the first.
    const ranAge = second.sample.processes.get(ran)?.notRunForMs as number;
    expect(ranAge).toBeLessThan(1500);
    for (const pid of light.slice(0, 2)) expect(second.sample.processes.get(pid)?.notRunForMs as number).toBeGreaterThan(ranAge + 300);
  }));
