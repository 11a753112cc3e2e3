/**
 * Live test of what a watch carries between ticks (harness/diagnose/carry.ts), on real local
 * processes over loopback: a reader blocked on a silent socket lets the next tick reuse the last
 * tick's socket times, advanced, and the carried ages track what a fresh ss reads; the moment a
 * byte moves (the peer sends, the reader wakes) ss runs again; after SOCKETS_REUSE carried ticks it
 * runs anyway. Lock waiters' command lines are carried while they are the same processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { CollectCarry, SOCKETS_REUSE } from '../../harness/diagnose/carry';
import { collect } from '../../harness/diagnose/collect';
import type { Sample } from '../../harness/diagnose/model';
import { LocalProcReader } from '../../harness/diagnose/procfs';

jest.setTimeout(60_000);

// Blocks in recv on a loopback connection whose peer (the same process, another fd) stays silent
// until a line on stdin asks it to send one byte; the reader then reads it and blocks again.
const SILENT_PEER = `
import socket, sys, threading
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen(5)
c = socket.create_connection(('127.0.0.1', srv.getsockname()[1])); peer, _ = srv.accept()
import os
r, w = os.pipe()
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
  for (const c of children) c.kill('SIGKILL');
  children = [];
});

async function silentReader(): Promise<ChildProcess> {
  const child = spawn('python3', ['-c', SILENT_PEER], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (b: Buffer) => b.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`helper exited ${code}`)));
  });
  await new Promise((r) => setTimeout(r, 200)); // in recv
  return child;
}

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
