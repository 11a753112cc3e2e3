/**
 * Every diagnosis kind on /proc trees recorded from real processes (record-fixtures.ts), plus the
 * aarch64 rewrites of three of them. PIDs come from each fixture's meta.json.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { diagnose, FixtureProcReader, renderText, type Diagnosis } from '../../../harness/diagnose';

const FIXTURES = path.join(__dirname, 'fixtures');

interface Meta {
  holder: number;
  waiters: number[];
  port?: number;
  lockFile?: string;
  [key: string]: unknown;
}

function meta(name: string): Meta {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'meta.json'), 'utf8')) as Meta;
}

function reader(name: string): FixtureProcReader {
  return new FixtureProcReader([path.join(FIXTURES, name, 's0'), path.join(FIXTURES, name, 's1')]);
}

async function run(name: string, extra: Parameters<typeof diagnose>[0] = {}): Promise<Diagnosis> {
  return diagnose({ reader: reader(name), samples: 2, intervalMs: 0, ...extra });
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

function expectConvoy(d: Diagnosis, kind: string, m: Meta): void {
  expect(d.verdict).toBe('stuck');
  expect(d.culprit?.kind).toBe(kind);
  expect(d.culprit?.pid).toBe(m.holder);
  expect(sorted(d.culprit?.waiters ?? [])).toEqual(sorted(m.waiters));
  // Wait ages, from the recorded sched files: the culprit's, and every waiter's (read in the last sample).
  expect(d.culprit?.waitMs).toEqual(expect.any(Number));
  for (const pid of m.waiters) expect(d.processes.find((p) => p.pid === pid)?.waitMs).toEqual(expect.any(Number));
}

describe('recorded fixtures, x86_64', () => {
  test('silent-peer: flock convoy, holder in recvfrom on a silent ESTABLISHED socket', async () => {
    const m = meta('half-open-read-flock');
    const d = await run('half-open-read-flock');
    expectConvoy(d, 'silent-peer', m);
    expect(d.culprit?.syscall).toMatch(/^recvfrom\(fd \d+\)$/);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'ESTABLISHED', txQueue: 0, rxQueue: 0, timer: 'none' });
    expect(d.culprit?.holds).toEqual([expect.objectContaining({ type: 'FLOCK', access: 'WRITE', path: m.lockFile })]);
    expect(d.culprit?.evidence.join('\n')).toMatch(/no progress across 2 samples over 3\d0 ms/);
    expect(d.processes.filter((p) => p.role === 'waiter').map((p) => p.pid)).toEqual(sorted(m.waiters));
  });

  test('silent-peer: POSIX convoy, holder in poll (fd from the pollfd array), upstream named by the registry', async () => {
    const m = meta('half-open-read-poll-fcntl');
    const registry = { services: [{ name: 'storage-1', addresses: [{ host: '127.0.0.1', port: m.port as number }] }] };
    const d = await run('half-open-read-poll-fcntl', { registry });
    expectConvoy(d, 'silent-peer', m);
    expect(d.culprit?.syscall).toBe('poll(1 fd, timeout 3600000)');
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', fd: 5, service: 'storage-1', remote: `127.0.0.1:${m.port}` });
    expect(d.culprit?.holds[0]).toMatchObject({ type: 'POSIX', access: 'WRITE' });
    expect(d.culprit?.evidence.join('\n')).toContain('pollfd array in /proc/PID/mem');
    expect(renderText(d)).toContain(`upstream  storage-1 (127.0.0.1:${m.port})`);
  });

  test('peer-not-reading: holder in sendto, tx_queue full and not draining', async () => {
    const m = meta('stalled-write');
    const d = await run('stalled-write');
    expectConvoy(d, 'peer-not-reading', m);
    expect(d.culprit?.resource.type).toBe('tcp');
    expect(d.culprit?.resource.txQueue).toBeGreaterThan(0);
  });

  test('busy-loop: holder running with CPU time rising, no syscall', async () => {
    const m = meta('busy-loop');
    const d = await run('busy-loop');
    expectConvoy(d, 'busy-loop', m);
    expect(d.culprit?.resource).toEqual({ type: 'cpu' });
    expect(d.culprit?.syscall).toBe('running');
  });

  test('slow-holder: holder sleeping while holding the lock', async () => {
    const m = meta('slow-holder');
    const d = await run('slow-holder');
    expectConvoy(d, 'slow-holder', m);
    expect(d.culprit?.resource).toEqual({ type: 'timer' });
  });

  test('slow-peer: holder woken repeatedly in recvfrom by a trickling peer', async () => {
    const m = meta('slow-peer');
    const d = await run('slow-peer');
    expectConvoy(d, 'slow-peer', m);
    expect(d.culprit?.evidence.join('\n')).toMatch(/bytes moving across 2 samples over \d+ ms: woke \d+ times/);
  });

  test('connect-stall: holder in connect, socket SYN_SENT', async () => {
    const m = meta('connect-stall');
    const d = await run('connect-stall');
    expectConvoy(d, 'connect-stall', m);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'SYN_SENT', remote: `127.0.0.1:${m.port}` });
  });

  test('two-level chain: waiters -> lock A -> holder waiting on lock B -> root on a socket', async () => {
    const m = meta('two-level') as unknown as { root: number; middle: number; outer: number[] };
    const d = await run('two-level');
    expect(d.culprit?.kind).toBe('silent-peer');
    expect(d.culprit?.pid).toBe(m.root);
    expect(sorted(d.culprit?.waiters ?? [])).toEqual(sorted([m.middle, ...m.outer]));
    const chain = d.chains.find((c) => c.root === m.root);
    expect(chain?.links.map((l) => [l.holder, l.waiters])).toEqual([
      [m.root, [m.middle]],
      [m.middle, sorted(m.outer)],
    ]);
    expect(chain?.links.map((l) => l.lock.path)).toEqual(['/tmp/faultline-fixture/b.lock', '/tmp/faultline-fixture/a.lock']);
    const text = renderText(d);
    // Told from the outermost waiters inward to the root.
    expect(text.indexOf('a.lock')).toBeLessThan(text.indexOf('b.lock'));
  });

  test('lock-cycle: two processes waiting for each other\'s flock', async () => {
    const m = meta('lock-cycle') as unknown as { x: number; y: number; outsider: number };
    const d = await run('lock-cycle');
    expect(d.verdict).toBe('stuck');
    expect(d.culprit?.kind).toBe('lock-cycle');
    const cycle = d.chains.find((c) => c.kind === 'lock-cycle');
    expect(sorted(cycle?.cycle ?? [])).toEqual(sorted([m.x, m.y]));
    expect(d.culprit?.waiters).toEqual(expect.arrayContaining([m.outsider]));
    expect(d.culprit?.evidence[0]).toMatch(/lock cycle \(deadlock\) among 2 processes/);
  });

  test('idle pool: accept-mutex waiters behind a worker in accept give no culprit', async () => {
    const m = meta('idle-pool') as unknown as { pool: number[] };
    const d = await run('idle-pool');
    expect(d.verdict).toBe('healthy');
    expect(d.culprit).toBeNull();
    expect(d.chains).toHaveLength(1);
    expect(d.chains[0]?.kind).toBe('idle');
    expect(d.chains[0]?.culprit).toBe(false);
    expect(sorted(d.processes.map((p) => p.pid))).toEqual(sorted(m.pool));
    expect(renderText(d)).toContain('HEALTHY');
  });

  test('one sample cannot tell stuck from slow, and says so', async () => {
    const m = meta('half-open-read-flock');
    const d = await diagnose({ reader: reader('half-open-read-flock'), samples: 1 });
    expectConvoy(d, 'silent-peer', m);
    expect(d.samples).toBe(1);
    expect(d.culprit?.evidence.join('\n')).toContain('one sample: cannot tell stuck from slow');
  });
});

describe('aarch64 (numbers differ: 73 is ppoll there, flock is 32, fcntl 25, recvfrom 207)', () => {
  test('ppoll + fcntl(F_SETLKW) convoy decodes with the aarch64 table', async () => {
    const m = meta('aarch64-half-open-read-ppoll-fcntl');
    const d = await run('aarch64-half-open-read-ppoll-fcntl');
    expect(d.arch).toBe('aarch64');
    expectConvoy(d, 'silent-peer', m);
    expect(d.culprit?.syscall).toBe('ppoll(1 fd, timeout -1)');
    const waiter = d.processes.find((p) => p.pid === m.waiters[0]);
    expect(waiter?.syscall).toBe('fcntl(fd 3, F_SETLKW)');
  });

  test('flock (32) + recvfrom (207) convoy', async () => {
    const m = meta('aarch64-half-open-read-flock');
    const d = await run('aarch64-half-open-read-flock');
    expectConvoy(d, 'silent-peer', m);
    expect(d.culprit?.syscall).toMatch(/^recvfrom\(fd \d+\)$/);
    expect(d.processes.find((p) => p.pid === m.waiters[0])?.syscall).toBe('flock(fd 3, LOCK_EX)');
  });

  test('sendto (206) stalled write', async () => {
    const m = meta('aarch64-stalled-write');
    const d = await run('aarch64-stalled-write');
    expectConvoy(d, 'peer-not-reading', m);
    expect(d.culprit?.syscall).toMatch(/^sendto\(fd \d+\)$/);
  });
});

describe('multi-threaded holders (every thread read from /proc/PID/task)', () => {
  // helper.py holder … thread-recv / thread-spin: a worker thread takes the flock, then reads from
  // a silent peer or spins; the main thread waits in join (futex), a third thread sleeps. The main
  // thread's /proc/PID/syscall alone says futex: the wait is the worker thread's.
  test('silent-peer in a non-main thread: the thread is found, named (tid) and classified', async () => {
    const m = meta('threaded-half-open-read');
    const tid = m.tid as number;
    expect(tid).not.toBe(m.holder);
    // The recording: the main thread in futex (202), the worker in recvfrom (45).
    const s1 = path.join(FIXTURES, 'threaded-half-open-read', 's1', String(m.holder));
    expect(fs.readFileSync(path.join(s1, 'syscall'), 'utf8')).toMatch(/^202 /);
    expect(fs.readFileSync(path.join(s1, 'task', String(tid), 'syscall'), 'utf8')).toMatch(/^45 /);

    const d = await run('threaded-half-open-read');
    expectConvoy(d, 'silent-peer', m);
    expect(d.culprit?.tid).toBe(tid);
    expect(d.culprit?.syscall).toMatch(/^recvfrom\(fd \d+\)$/);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'ESTABLISHED', txQueue: 0, rxQueue: 0, timer: 'none', remote: `127.0.0.1:${m.port}` });
    expect(d.culprit?.holds).toEqual([expect.objectContaining({ type: 'FLOCK', access: 'WRITE', path: m.lockFile })]);
    const evidence = d.culprit?.evidence.join('\n') ?? '';
    expect(evidence).toContain(`pid ${m.holder} (python3) thread ${tid} blocked in recvfrom`);
    expect(evidence).toMatch(new RegExp(`pid ${m.holder} has 3 threads: the wait shown is thread ${tid}'s .*main thread ${m.holder} in futex`));
    expect(evidence).toMatch(/no progress across 2 samples/);
    expect(d.chains[0]).toMatchObject({ root: m.holder, tid, kind: 'silent-peer' });
    const holder = d.processes.find((p) => p.pid === m.holder);
    expect(holder).toMatchObject({ role: 'culprit', tid, syscall: expect.stringMatching(/^recvfrom/), wait: expect.stringContaining(`thread ${tid}: recvfrom`) });
    // Waiters are single-threaded: their tid is their pid.
    for (const w of m.waiters) expect(d.processes.find((p) => p.pid === w)?.tid).toBe(w);
    const text = renderText(d);
    expect(text).toContain(`STUCK: silent-peer — pid ${m.holder} (python3) thread ${tid} blocks 3 waiting processes`);
    expect(text).toMatch(new RegExp(`blocked   recvfrom\\(fd \\d+\\) \\(thread ${tid}\\)`));
  });

  test('busy-loop in a non-main thread: the thread whose own CPU time rises (task/TID/stat)', async () => {
    const m = meta('threaded-busy-loop');
    const d = await run('threaded-busy-loop');
    expectConvoy(d, 'busy-loop', m);
    expect(d.culprit?.tid).toBe(m.tid);
    expect(d.culprit?.syscall).toBe('running');
    expect(d.culprit?.resource).toEqual({ type: 'cpu' });
    expect(d.culprit?.evidence.join('\n')).toMatch(new RegExp(`thread ${m.tid} is running in user space while holding the lock: state R, /proc/PID/task/TID/syscall "running"`));
    expect(d.culprit?.evidence.join('\n')).toMatch(/CPU time rose by [1-9][0-9]* ticks/);
  });

  test('one sample: the thread blocked on the socket still outranks the main thread in futex', async () => {
    const m = meta('threaded-half-open-read');
    const d = await diagnose({ reader: reader('threaded-half-open-read'), samples: 1 });
    expectConvoy(d, 'silent-peer', m);
    expect(d.culprit?.tid).toBe(m.tid);
  });
});
