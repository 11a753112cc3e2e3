/**
 * Permissions, races and odd /proc text (derived fixtures), plus hand-written trees for the paths
 * no recording covers: epoll and select waits, an upstream pile-up without locks, OFD locks.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diagnose, FixtureProcReader, renderJson, renderText, type ProcReader, type ProcSnapshot } from '../../../harness/diagnose';
import { stat, status, TCP_HEADER, tcpRow, UPTIME_60S, worker, writeTree } from './trees';

const FIXTURES = path.join(__dirname, 'fixtures');
const meta = (name: string) =>
  JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'meta.json'), 'utf8')) as { holder: number; waiters: number[]; tid?: number };
const reader = (name: string) => new FixtureProcReader([path.join(FIXTURES, name, 's0'), path.join(FIXTURES, name, 's1')]);
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('permissions', () => {
  test('without ptrace access: the chain from /proc/locks, the holder named, CAP_SYS_PTRACE reported missing', async () => {
    const m = meta('unprivileged');
    const d = await diagnose({ reader: reader('unprivileged'), intervalMs: 0 });
    expect(d.verdict).toBe('stuck');
    expect(d.culprit?.pid).toBe(m.holder);
    expect(sorted(d.culprit?.waiters ?? [])).toEqual(sorted(m.waiters));
    expect(d.culprit?.kind).toBe('unknown');
    // Every ptrace-guarded file that failed is named: syscall and fd, and also io, wchan and ns/net.
    expect(d.warnings.join('\n')).toMatch(/fd, io, ns\/net, syscall, wchan unreadable for pid .*missing CAP_SYS_PTRACE/);
    const holder = d.processes.find((p) => p.pid === m.holder);
    expect(holder?.unreadable).toEqual(
      expect.arrayContaining(['syscall: EACCES (needs CAP_SYS_PTRACE)', 'fd: EACCES (needs CAP_SYS_PTRACE)', 'io: EACCES (needs CAP_SYS_PTRACE)', 'wchan: EACCES (needs CAP_SYS_PTRACE)', 'ns/net: EACCES (needs CAP_SYS_PTRACE)']),
    );
    // Unprivileged data still shown: the holder's TCP sockets from net/tcp (public) by uid.
    expect(d.culprit?.evidence.join('\n')).toMatch(/fds unreadable; TCP sockets of uid 0 in its netns/);
    expect(renderText(d)).toContain('missing CAP_SYS_PTRACE');
  });

  test('/proc/PID/mem denied: the poll falls back to the process\'s sockets and still classifies', async () => {
    const m = meta('mem-denied');
    const d = await diagnose({ reader: reader('mem-denied'), intervalMs: 0 });
    expect(d.culprit?.pid).toBe(m.holder);
    expect(d.culprit?.kind).toBe('silent-peer');
    expect(d.culprit?.evidence.join('\n')).toContain("pollfd array unreadable (EPERM): guessed from the process's sockets");
  });
});

describe('threads (/proc/PID/task) without privileges, exiting mid-scan, or garbled', () => {
  test('threads\' syscalls denied: the lock chain still names the holder; task/*/syscall and wchan ("0") reported as needing CAP_SYS_PTRACE', async () => {
    const m = meta('threaded-unprivileged');
    const d = await diagnose({ reader: reader('threaded-unprivileged'), intervalMs: 0 });
    expect(d.culprit).toMatchObject({ pid: m.holder, kind: 'unknown', tid: m.holder });
    expect(sorted(d.culprit?.waiters ?? [])).toEqual(sorted(m.waiters));
    const holder = d.processes.find((p) => p.pid === m.holder);
    expect(holder?.unreadable).toEqual(
      expect.arrayContaining([
        'task/*/syscall: EACCES (needs CAP_SYS_PTRACE)',
        // The kernel prints "0" for a denied wchan; io and ns/net (same check) were denied.
        'task/*/wchan: EACCES (needs CAP_SYS_PTRACE)',
        'wchan: EACCES (needs CAP_SYS_PTRACE)',
      ]),
    );
    expect(d.warnings.join('\n')).toMatch(/syscall, task\/\*\/syscall, task\/\*\/wchan, wchan unreadable for pid [0-9, ]*: missing CAP_SYS_PTRACE/);
    expect(d.culprit?.evidence.join('\n')).toContain(`pid ${m.holder} has 3 threads, none running, none with a readable syscall`);
  });

  test('threads that exit between the task/ listing and their files, a truncated stat, a garbled syscall: the worker thread is still found', async () => {
    const m = meta('threaded-churn');
    const d = await diagnose({ reader: reader('threaded-churn'), intervalMs: 0 });
    expect(d.culprit).toMatchObject({ pid: m.holder, tid: m.tid, kind: 'silent-peer' });
    // Gone is not unreadable: nothing is reported for the vanished threads.
    expect(d.processes.find((p) => p.pid === m.holder)?.unreadable).toBeUndefined();
    const evidence = d.culprit?.evidence.join('\n') ?? '';
    expect(evidence).toContain('thread 999992 state S, syscall unknown');
    expect(evidence).not.toMatch(/99999[013]/);
    expect(() => JSON.parse(renderJson(d))).not.toThrow();
  });
});

describe('odd /proc text never crashes', () => {
  test('truncated stat, garbage syscall and net/tcp, junk lock lines, a process gone between samples', async () => {
    const m = meta('malformed');
    const d = await diagnose({ reader: reader('malformed'), intervalMs: 0 });
    expect(d.culprit?.pid).toBe(m.holder);
    expect(d.culprit?.kind).toBe('silent-peer');
    // The third waiter exited before the second sample: it is no longer reported.
    expect(d.culprit?.waiters).not.toContain(m.waiters[2]);
    expect(d.culprit?.waiters).toEqual(expect.arrayContaining([m.waiters[0], m.waiters[1]]));
    expect(() => renderText(d)).not.toThrow();
    expect(() => JSON.parse(renderJson(d))).not.toThrow();
  });

  test('an empty procfs, and a procfs that does not exist', async () => {
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-empty-'));
    try {
      const d = await diagnose({ reader: new FixtureProcReader(empty), intervalMs: 0 });
      expect(d.verdict).toBe('healthy');
      expect(d.warnings.join('\n')).toContain('/proc/locks unreadable');
      const gone = await diagnose({ reader: new FixtureProcReader(path.join(empty, 'nope')), pids: [1], intervalMs: 0 });
      expect(gone.processes).toEqual([]);
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});

// ------------------------------------------------------------------------------------------------
// Hand-written trees

describe('hand-written trees', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-hand-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('epoll_wait on a listening socket is an idle worker; epoll on an upstream socket is followed (fdinfo tfd lines)', async () => {
    const net =
      TCP_HEADER +
      tcpRow(0, '0A00000A:1F90', '00000000:0000', '0A', 100) +
      tcpRow(1, '0A00000A:C000', '0B00000A:2382', '01', 200);
    const files: Record<string, string> = {
      locks: '1: FLOCK  ADVISORY  WRITE 20 00:2a:77 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 21 00:2a:77 0 EOF\n',
      ...worker(10, '232 0x4 0x7ffd0000 0x40 0xffffffff 0x0 0x0 0x0 0x0\n', '3 -> socket:[100]\n4 -> anon_inode:[eventpoll]\n', {
        '10/fdinfo/4': 'pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\ntfd:        3 events:       19 data:                3  pos:0 ino:64 sdev:8\n',
        '10/net/tcp': net,
      }),
      ...worker(20, '232 0x5 0x7ffd0000 0x40 0xffffffff 0x0 0x0 0x0 0x0\n', '5 -> anon_inode:[eventpoll]\n6 -> socket:[200]\n7 -> /var/lib/php/sessions/sess_abc\n', {
        '20/fdinfo/5': 'pos:\t0\nflags:\t02\nmnt_id:\t15\nino:\t1057\ntfd:        6 events:       19 data:                6  pos:0 ino:c8 sdev:8\n',
        '20/fdinfo/7': 'pos:\t0\nflags:\t0100002\nmnt_id:\t30\nino:\t119\nlock:\t1: FLOCK  ADVISORY  WRITE 20 00:2a:77 0 EOF\n',
        '20/net/tcp': net,
      }),
      ...worker(21, '73 0x3 0x2 0x0 0x0 0x0 0x0 0x0 0x0\n', '3 -> /var/lib/php/sessions/sess_abc\n', { '21/net/tcp': net }),
    };
    writeTree(dir, files);
    const registry = { services: [{ name: 'storage', addresses: [{ host: '10.0.0.11', port: 9090 }] }] };
    const d = await diagnose({ reader: new FixtureProcReader(dir), pids: [10, 21], samples: 2, intervalMs: 0, registry });
    expect(d.processes.find((p) => p.pid === 10)?.role).toBe('idle');
    expect(d.culprit?.pid).toBe(20);
    expect(d.culprit?.kind).toBe('silent-peer');
    expect(d.culprit?.waiters).toEqual([21]);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', fd: 6, remote: '10.0.0.11:9090', service: 'storage' });
    expect(d.culprit?.holds[0]).toMatchObject({ path: '/var/lib/php/sessions/sess_abc', file: '00:2a:77' });
    expect(d.culprit?.evidence.join('\n')).toContain("fds from the epoll fd's fdinfo");
  });

  test('select: the fds come from the fd_set bitmaps read through /proc/PID/mem', async () => {
    const net = TCP_HEADER + tcpRow(0, '0A00000A:C000', '0B00000A:2382', '01', 300, 4096, 0, '04:00000100');
    writeTree(dir, {
      locks: '1: POSIX  ADVISORY  WRITE 30 00:2a:88 0 EOF\n1: -> POSIX  ADVISORY  WRITE 31 00:2a:88 0 EOF\n',
      // select(nfds = 6, readfds = NULL, writefds = 0x1000, …): fd 5 is set in the write set.
      ...worker(30, '23 0x6 0x0 0x1000 0x0 0x0 0x0 0x0 0x0\n', '4 -> /tmp/app.lock\n5 -> socket:[300]\n', {
        '30/mem.hex': '0x1000 2000000000000000\n',
        '30/net/tcp': net,
        '30/fdinfo/4': 'pos:\t0\nlock:\t1: POSIX  ADVISORY  WRITE 30 00:2a:88 0 EOF\n',
      }),
      ...worker(31, '72 0x3 0x7 0x7ffd 0x0 0x0 0x0 0x0 0x0\n', '3 -> /tmp/app.lock\n', { '31/net/tcp': net }),
    });
    const d = await diagnose({ reader: new FixtureProcReader(dir), pids: [31], intervalMs: 0 });
    expect(d.culprit?.pid).toBe(30);
    expect(d.culprit?.kind).toBe('peer-not-reading');
    expect(d.culprit?.resource).toMatchObject({ fd: 5, txQueue: 4096, timer: 'zero-window-probe' });
    expect(d.culprit?.evidence.join('\n')).toContain('fd_set in /proc/PID/mem');
  });

  test('workers polling an upstream with a short timeout are bounded waits, not a pile-up; with no timeout they are', async () => {
    const net = TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 501) + tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 502);
    // poll(fds = 0x1000, nfds = 1, timeout): the pollfd at 0x1000 is fd 5, events POLLIN.
    const tree = (timeout: string) => {
      const files: Record<string, string> = { locks: '', uptime: UPTIME_60S };
      for (const [i, pid] of [50, 51].entries()) {
        Object.assign(files, worker(pid, `7 0x1000 0x1 ${timeout} 0x0 0x0 0x0 0x0 0x0\n`, `5 -> socket:[${501 + i}]\n`, {
          [`${pid}/mem.hex`]: '0x1000 0500000001000000\n',
          [`${pid}/net/tcp`]: net,
        }));
      }
      return files;
    };
    const registry = { services: [{ name: 'profile', addresses: [{ host: '10.0.0.11', port: 9090 }] }] };
    writeTree(dir, tree('0x7d0'));
    const bounded = await diagnose({ reader: new FixtureProcReader(dir), pids: [50, 51], intervalMs: 0, registry });
    expect(bounded.verdict).toBe('healthy');
    expect(bounded.culprit).toBeNull();

    writeTree(dir, tree('0xffffffff'));
    const stuck = await diagnose({ reader: new FixtureProcReader(dir), pids: [50, 51], intervalMs: 0, registry });
    expect(stuck.verdict).toBe('stuck');
    expect(stuck.culprit).toMatchObject({ pid: 50, kind: 'silent-peer', waiters: [51], resource: { service: 'profile' } });
    expect(stuck.culprit?.evidence.join('\n')).toContain('the wait has no timeout');
  });

  // Each worker serves a client: a connection accepted from the pool's listener on port 80.
  const LISTENER = tcpRow(8, '0A00000A:0050', '00000000:0000', '0A', 600);
  const client = (i: number, inode: number) => tcpRow(10 + i, '0A00000A:0050', `0A000063:D00${i}`, '01', inode);

  const movingPileUp = async (clients: boolean) => {
    // Two workers blocked in sendto to the same upstream, send queues full; between the samples
    // worker 60 woke 30 times (its peer reads, slowly), worker 61 did not wake at all.
    const net =
      TCP_HEADER +
      tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 601, 3_000_000, 0, '04:00000100') +
      tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 602, 3_000_000, 0, '04:00000100') +
      (clients ? LISTENER + client(0, 611) + client(1, 612) : '');
    const sample = (ctxt60: number) => {
      const files: Record<string, string> = { locks: '' };
      for (const [i, pid] of [60, 61].entries()) {
        const fds = `5 -> socket:[${601 + i}]\n${clients ? `6 -> socket:[${611 + i}]\n` : ''}`;
        Object.assign(files, worker(pid, '44 0x5 0x7ffd 0x10000 0x0 0x0 0x0 0x0 0x0\n', fds, { [`${pid}/net/tcp`]: net }, pid === 60 ? ctxt60 : 10));
      }
      return files;
    };
    const s0 = path.join(dir, 's0');
    const s1 = path.join(dir, 's1');
    writeTree(s0, sample(10));
    writeTree(s1, sample(40));
    const registry = { services: [{ name: 'storage-3', addresses: [{ host: '10.0.0.11', port: 9090 }] }] };
    return diagnose({ reader: new FixtureProcReader([s0, s1]), pids: [60, 61], intervalMs: 0, registry });
  };

  test('a pile-up on an upstream that moves bytes for one worker is a slow peer, not a stalled one', async () => {
    const d = await movingPileUp(true);
    expect(d.verdict).toBe('stuck');
    expect(d.culprit).toMatchObject({ pid: 60, kind: 'slow-peer', waiters: [61], resource: { service: 'storage-3' } });
  });

  test('the same trickle read by processes nobody waits on (no accepted client, no lock) is a stream, not a hang', async () => {
    const d = await movingPileUp(false);
    expect(d.verdict).toBe('healthy');
    expect(d.culprit).toBeNull();
    const chain = d.chains.find((c) => c.root === 60);
    expect(chain).toMatchObject({ kind: 'slow-peer', culprit: false });
    expect(chain?.evidence.join('\n')).toContain('nothing waits on them (no accepted client connection, no lock anyone queues on) and bytes keep arriving: a stream');
  });

  test('a send queue draining in whole chunks is a slow peer; a queue that barely shrinks is a stalled write', async () => {
    const registry = { services: [{ name: 'storage-3', addresses: [{ host: '10.0.0.11', port: 9090 }] }] };
    const run = async (txAfter: number) => {
      const sample = (tx: number) => {
        const net =
          TCP_HEADER +
          tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 701, tx, 0, '04:00000100') +
          tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 702, 3_000_000, 0, '04:00000100') +
          LISTENER +
          client(0, 711) +
          client(1, 712);
        const files: Record<string, string> = { locks: '', uptime: UPTIME_60S };
        for (const [i, pid] of [70, 71].entries()) {
          Object.assign(files, worker(pid, '1 0x5 0x7ffd 0x10000 0x0 0x0 0x0 0x0 0x0\n', `5 -> socket:[${701 + i}]\n6 -> socket:[${711 + i}]\n`, { [`${pid}/net/tcp`]: net }));
        }
        return files;
      };
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-drain-'));
      writeTree(path.join(root, 's0'), sample(3_000_000));
      writeTree(path.join(root, 's1'), sample(txAfter));
      try {
        return await diagnose({ reader: new FixtureProcReader([path.join(root, 's0'), path.join(root, 's1')]), pids: [70, 71], intervalMs: 0, registry });
      } finally {
        fs.rmSync(root, { recursive: true, force: true });
      }
    };
    const slow = await run(3_000_000 - 5 * 32768);
    expect(slow.culprit).toMatchObject({ pid: 70, kind: 'slow-peer', waiters: [71] });
    expect(slow.culprit?.evidence.join('\n')).toContain('send queue drained 163840 bytes');
    const stalled = await run(3_000_000 - 4096);
    expect(stalled.culprit).toMatchObject({ kind: 'peer-not-reading', resource: { service: 'storage-3' } });
  });

  test('no lock: several workers stuck on the same upstream are a pile-up; one in-flight request is not', async () => {
    const net =
      TCP_HEADER +
      tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401) +
      tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402) +
      tcpRow(2, '0A00000A:C003', '0C00000A:0CEA', '01', 403);
    const tree = (pids: number[], uptime = UPTIME_60S) => {
      const files: Record<string, string> = { locks: '', uptime };
      for (const [i, pid] of pids.entries()) {
        Object.assign(
          files,
          worker(pid, '45 0x5 0x7ffd 0x2000 0x0 0x0 0x0 0x0 0x0\n', `5 -> socket:[${401 + i}]\n`, { [`${pid}/net/tcp`]: net }),
        );
      }
      return files;
    };
    writeTree(dir, tree([40, 41]));
    const registry = { services: [{ name: 'db', addresses: [{ host: '10.0.0.11', port: 9090 }] }] };
    const d = await diagnose({ reader: new FixtureProcReader(dir), pids: [40, 41], intervalMs: 0, registry });
    expect(d.verdict).toBe('stuck');
    expect(d.culprit).toMatchObject({ pid: 40, kind: 'silent-peer', waiters: [41] });
    expect(d.culprit?.resource.service).toBe('db');
    expect(d.culprit?.evidence[0]).toBe('2 workers wait on the same upstream db (10.0.0.11:9090): pids 40, 41; the longest has not run for 60 s (>= --stuck-after 5 s)');
    expect(d.culprit?.waitMs).toBe(60_000);
    expect(d.processes.find((p) => p.pid === 41)?.waitMs).toBe(60_000);

    // The same two workers 400 ms into their queries: requests in flight, healthy; the same at 60 s
    // with --stuck-after 2m: healthy too.
    writeTree(dir, tree([40, 41], '940.40 10.00\n'));
    const young = await diagnose({ reader: new FixtureProcReader(dir), pids: [40, 41], intervalMs: 0, registry });
    expect(young.verdict).toBe('healthy');
    expect(young.chains[0]).toMatchObject({ culprit: false, waitMs: 400 });
    expect(young.chains[0]?.evidence[0]).toContain('(waited 400 ms): under --stuck-after 5 s, requests in flight, not stuck');
    writeTree(dir, tree([40, 41]));
    expect((await diagnose({ reader: new FixtureProcReader(dir), pids: [40, 41], intervalMs: 0, registry, stuckAfterMs: 120_000 })).verdict).toBe('healthy');

    // Their wait ages unreadable (no sched): stuck or in flight cannot be told.
    fs.rmSync(path.join(dir, '40/sched'));
    fs.rmSync(path.join(dir, '41/sched'));
    const blind = await diagnose({ reader: new FixtureProcReader(dir), pids: [40, 41], intervalMs: 0, registry });
    expect(blind.verdict).toBe('inconclusive');
    expect(blind.inconclusive?.reasons.join('\n')).toContain('have waited is unreadable (/proc/PID/sched)');

    // A single worker waiting on another upstream, recently run: an ordinary request in flight.
    const solo = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-hand-'));
    try {
      const files = worker(42, '45 0x5 0x7ffd 0x2000 0x0 0x0 0x0 0x0 0x0\n', '5 -> socket:[403]\n', { '42/net/tcp': net });
      writeTree(solo, { locks: '', uptime: '1000.00 10.00\n', ...files, '42/sched': 'se.exec_start : 999900.000000\n' });
      const healthy = await diagnose({ reader: new FixtureProcReader(solo), pids: [42], intervalMs: 0 });
      expect(healthy.verdict).toBe('healthy');
      expect(healthy.chains[0]?.culprit).toBe(false);
      // The same wait, not run for 60 s: a stuck worker even alone.
      fs.writeFileSync(path.join(solo, '42/sched'), 'se.exec_start : 940000.000000\n');
      const stuck = await diagnose({ reader: new FixtureProcReader(solo), pids: [42], intervalMs: 0 });
      expect(stuck.culprit).toMatchObject({ pid: 42, kind: 'silent-peer' });
      expect(stuck.culprit?.evidence[0]).toContain('not run for 60 s');
    } finally {
      fs.rmSync(solo, { recursive: true, force: true });
    }
  });

  test('OFD locks (pid -1): the holder is found through its fdinfo lock: line', async () => {
    writeTree(dir, {
      locks: '1: OFDLCK ADVISORY  WRITE -1 00:2a:99 0 EOF\n1: -> OFDLCK ADVISORY  WRITE -1 00:2a:99 0 EOF\n1: -> POSIX  ADVISORY  WRITE 51 00:2a:99 0 EOF\n',
      ...worker(50, '35 0x7ffd 0x0 0x0 0x0 0x0 0x0 0x0 0x0\n', '3 -> /srv/data.db\n', {
        '50/fdinfo/3': 'pos:\t0\nlock:\t1: OFDLCK ADVISORY  WRITE -1 00:2a:99 0 EOF\n',
      }),
      ...worker(51, '72 0x3 0x7 0x7ffd 0x0 0x0 0x0 0x0 0x0\n', '3 -> /srv/data.db\n'),
    });
    const d = await diagnose({ reader: new FixtureProcReader(dir), pids: [50, 51], intervalMs: 0 });
    expect(d.culprit).toMatchObject({ pid: 50, kind: 'slow-holder', waiters: [51] });
    expect(d.culprit?.holds[0]).toMatchObject({ type: 'OFDLCK', path: '/srv/data.db' });
  });

  test('--match never selects the reader\'s own processes', async () => {
    writeTree(dir, {
      locks: '',
      'own-pids': '60\n',
      ...worker(60, '0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0\n', ''),
      ...worker(61, '0 0x0 0x0 0x0 0x0 0x0 0x0 0x0 0x0\n', ''),
    });
    const d = await diagnose({ reader: new FixtureProcReader(dir), match: /php-fpm/, samples: 1 });
    expect(d.processes.map((p) => p.pid)).toEqual([61]);
  });
});

// ------------------------------------------------------------------------------------------------
// Hand-written trees: threads

/** task/TID/stat of a thread: state and own utime. */
const tstat = (tid: number, state: string, utime: number) => `${tid} (worker) ${state} 1 ${tid} ${tid} 0 -1 4194560 100 0 0 0 ${utime} 1 0 0 20 0 3 0 100 1000 100\n`;
/** A process stat with 3 threads. */
const mtstat = (pid: number, utime: number) => `${pid} (worker) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} 1 0 0 20 0 3 0 100 1000 100\n`;

describe('hand-written trees: threads', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-threads-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const lockedHolder = (extra: Record<string, string>): Record<string, string> => ({
    locks: '1: FLOCK  ADVISORY  WRITE 80 00:2a:77 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 81 00:2a:77 0 EOF\n',
    '80/stat': mtstat(80, 50),
    '80/status': status(10),
    '80/syscall': '202 0x7f00 0x189 0x0 0x0 0x0 0xffffffff 0x0 0x0\n', // the main thread joins: futex
    '80/cmdline': 'java\0-jar\0app.jar\0',
    '80/fd.links': '4 -> /tmp/app.lock\n5 -> socket:[900]\n',
    '80/fdinfo/4': 'pos:\t0\nlock:\t1: FLOCK  ADVISORY  WRITE 80 00:2a:77 0 EOF\n',
    '80/ns/net': 'net:[4026532000]\n',
    '80/net/tcp': TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 900),
    '80/task/80/stat': tstat(80, 'S', 40),
    '81/stat': stat(81),
    '81/syscall': '73 0x3 0x2 0x0 0x0 0x0 0x0 0x0 0x0\n',
    '81/cmdline': 'java\0',
    '81/fd.links': '3 -> /tmp/app.lock\n',
    ...extra,
  });

  test('a thread in poll: its pollfd array is read from the process memory at the thread\'s own argument', async () => {
    writeTree(dir, lockedHolder({
      '80/task/82/stat': tstat(82, 'S', 5),
      '80/task/82/syscall': '7 0x2000 0x1 0xffffffff 0x0 0x0 0x0 0x0 0x0\n',
      '80/task/82/status': status(3),
      '80/task/83/stat': tstat(83, 'S', 5),
      '80/task/83/syscall': '230 0x1 0x0 0x7f00 0x0 0x0 0x0 0x0 0x0\n',
      '80/mem.hex': '0x2000 0500000001000000\n',
    }));
    const registry = { services: [{ name: 'orders', addresses: [{ host: '10.0.0.11', port: 9090 }] }] };
    const d = await diagnose({ reader: new FixtureProcReader(dir), pids: [81], intervalMs: 0, registry });
    expect(d.culprit).toMatchObject({ pid: 80, tid: 82, kind: 'silent-peer', waiters: [81], syscall: 'poll(1 fd, timeout -1)' });
    expect(d.culprit?.resource).toMatchObject({ fd: 5, service: 'orders' });
    expect(d.culprit?.evidence.join('\n')).toContain('pollfd array in /proc/PID/mem');
  });

  test('every thread parked (futex, wait4): unknown, the main thread shown, the others listed', async () => {
    writeTree(dir, lockedHolder({
      '80/task/82/stat': tstat(82, 'S', 5),
      '80/task/82/syscall': '202 0x7f10 0x80 0x0 0x0 0x0 0x0 0x0 0x0\n',
      '80/task/83/stat': tstat(83, 'S', 5),
      '80/task/83/syscall': '61 0xffffffff 0x0 0x0 0x0 0x0 0x0 0x0 0x0\n',
    }));
    const d = await diagnose({ reader: new FixtureProcReader(dir), pids: [81], intervalMs: 0 });
    expect(d.culprit).toMatchObject({ pid: 80, tid: 80, kind: 'unknown', syscall: 'futex' });
    expect(d.culprit?.evidence.join('\n')).toContain("pid 80 has 3 threads: the wait shown is the main thread's");
    expect(d.culprit?.evidence.join('\n')).toContain('thread 83 in wait4');
    expect(renderText(d)).not.toMatch(/\(thread \d+\)/);
  });

  test('task/ unreadable: main thread only, noted with the errno', async () => {
    writeTree(dir, lockedHolder({ '80/task.error': 'EACCES\n' }));
    const d = await diagnose({ reader: new FixtureProcReader(dir), pids: [81], intervalMs: 0 });
    expect(d.culprit).toMatchObject({ pid: 80, tid: 80, kind: 'unknown' });
    expect(d.processes.find((p) => p.pid === 80)?.unreadable).toEqual(['task: EACCES (needs CAP_SYS_PTRACE)']);
  });

  test('light waiters (the many /proc/locks shows waiting) are read main thread only: no task/ reads for them', async () => {
    const files = lockedHolder({
      '80/task/82/stat': tstat(82, 'S', 5),
      '80/task/82/syscall': '45 0x5 0x7ffd 0x2000 0x0 0x0 0x0 0x0 0x0\n',
      locks: '1: FLOCK  ADVISORY  WRITE 80 00:2a:77 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 81 00:2a:77 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 84 00:2a:77 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 85 00:2a:77 0 EOF\n',
    });
    for (const w of [81, 84, 85]) {
      files[`${w}/stat`] = mtstat(w, 1);
      files[`${w}/syscall`] = '202 0x7f00 0x189 0x0 0x0 0x0 0xffffffff 0x0 0x0\n';
      files[`${w}/cmdline`] = 'java\0';
      files[`${w}/task/${w + 100}/stat`] = tstat(w + 100, 'S', 1);
      files[`${w}/task/${w + 100}/syscall`] = '73 0x3 0x2 0x0 0x0 0x0 0x0 0x0 0x0\n';
    }
    writeTree(dir, files);
    const listed: number[] = [];
    const inner = new FixtureProcReader(dir);
    const counting: ProcReader = {
      description: inner.description,
      snapshot: async () => {
        const snap = await inner.snapshot();
        return new Proxy(snap, {
          get(target, prop) {
            if (prop === 'listTids') return (pid: number) => (listed.push(pid), target.listTids?.(pid));
            const v = Reflect.get(target, prop) as unknown;
            return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
          },
        }) as ProcSnapshot;
      },
    };
    const d = await diagnose({ reader: counting, pids: [81], intervalMs: 0 });
    expect(d.culprit).toMatchObject({ pid: 80, tid: 82, kind: 'silent-peer', waiters: [81, 84, 85] });
    // The holder and the first waiter (kept in full for the lock's path), in each of 2 samples.
    expect([...new Set(listed)].sort((a, b) => a - b)).toEqual([80, 81]);
    expect(d.processes.find((p) => p.pid === 84)).toMatchObject({ tid: 84, syscall: 'futex' });
  });
});
