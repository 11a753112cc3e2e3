/**
 * The three verdicts and the facts that decide them, on hand-written trees: inconclusive when what
 * decides is unreadable (permissions, memory, an architecture not decoded, a process gone mid-read),
 * bounded waits read from their timespec/timeval, and the socket kinds told apart by what the
 * socket shows (/proc/net/tcp and sock_diag).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { diagnose, FixtureProcReader, renderText } from '../../../harness/diagnose';
import { parseSs, parseSsTimer } from '../../../harness/diagnose/sockdiag';
import { UNANSWERED_PROBES } from '../../../harness/diagnose/socket-wait';
import { TCP_HEADER, tcpRow, UPTIME_60S, worker, writeTree } from './trees';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-verdict-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const registry = { services: [{ name: 'db', addresses: [{ host: '10.0.0.11', port: 9090 }] }] };
// Two sockets to db (10.0.0.11:9090) and a listener on :8080 every worker inherited.
const NET =
  TCP_HEADER +
  tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401) +
  tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402) +
  tcpRow(2, '0A00000A:1F90', '00000000:0000', '0A', 100);

/** Two workers in recvfrom (x86_64 45) on their db sockets: a pile-up without a lock, 60 s old. */
function pileUp(extra: (pid: number) => Record<string, string> = () => ({})): Record<string, string> {
  const files: Record<string, string> = { locks: '', uptime: UPTIME_60S };
  for (const [i, pid] of [40, 41].entries()) {
    Object.assign(files, worker(pid, '45 0x5 0x7ffd 0x2000 0x0 0x0 0x0 0x0 0x0\n', `5 -> socket:[${401 + i}]\n3 -> socket:[100]\n`, { [`${pid}/net/tcp`]: NET, ...extra(pid) }));
  }
  return files;
}

const run = (opts: { pids?: number[]; stuckAfterMs?: number } = {}) =>
  diagnose({ reader: new FixtureProcReader(dir), pids: opts.pids ?? [40, 41], intervalMs: 0, registry, stuckAfterMs: opts.stuckAfterMs });

describe('inconclusive: never healthy on what could not be seen', () => {
  test('without ptrace access to a pile-up with no lock: inconclusive, saying what could not be read and how to see it', async () => {
    writeTree(dir, pileUp((pid) => ({ [`${pid}/syscall.error`]: 'EACCES', [`${pid}/fd.error`]: 'EACCES', [`${pid}/io.error`]: 'EACCES' })));
    const d = await run();
    expect(d.verdict).toBe('inconclusive');
    expect(d.culprit).toBeNull();
    expect(d.inconclusive?.reasons.join('\n')).toContain('/proc/PID/syscall is unreadable (permission denied) for pid 40, 41');
    expect(d.inconclusive?.hints.join('\n')).toMatch(/run as root.*CAP_SYS_PTRACE/);
    expect(d.inconclusive?.hints.join('\n')).toContain('--container NAME');
    const text = renderText(d);
    expect(text).toContain('INCONCLUSIVE: what decides could not be read');
    expect(text).not.toContain('HEALTHY');
    // The same tree readable: stuck.
    writeTree(dir, pileUp());
    for (const pid of [40, 41]) for (const f of ['syscall', 'fd', 'io']) fs.rmSync(path.join(dir, `${pid}/${f}.error`));
    expect((await run()).verdict).toBe('stuck');
  });

  test('/proc/PID/mem unreadable under poll: an inherited listener would make the worker look like an event loop; inconclusive, not healthy', async () => {
    // poll(fds = 0x1000, nfds = 1, timeout -1) on its db socket, the listener inherited beside it.
    writeTree(dir, pileUp((pid) => ({ [`${pid}/syscall`]: '7 0x1000 0x1 0xffffffff 0x0 0x0 0x0 0x0 0x0\n', [`${pid}/mem.error`]: 'EPERM' })));
    const d = await run();
    expect(d.verdict).toBe('inconclusive');
    expect(d.inconclusive?.reasons.join('\n')).toMatch(/\/proc\/PID\/mem is unreadable \(EPERM\) for pid 40, 41, waiting in poll\/select: .*inherited listening socket/);
    // Readable, the pollfd array says fd 5 only: a stuck pile-up on db.
    for (const pid of [40, 41]) {
      fs.rmSync(path.join(dir, `${pid}/mem.error`));
      fs.writeFileSync(path.join(dir, `${pid}/mem.hex`), '0x1000 0500000001000000\n');
    }
    const seen = await run();
    expect(seen.verdict).toBe('stuck');
    expect(seen.culprit).toMatchObject({ kind: 'silent-peer', resource: { service: 'db' } });
  });

  test('an architecture faultline does not decode (riscv64) is inconclusive, its syscalls never read as x86_64', async () => {
    // 73 is ppoll on riscv64 (asm-generic), flock on x86_64.
    writeTree(dir, { ...pileUp((pid) => ({ [`${pid}/syscall`]: '73 0x1000 0x1 0x0 0x0 0x8 0x0 0x0 0x0\n' })), arch: 'riscv64\n' });
    const d = await run();
    expect(d.verdict).toBe('inconclusive');
    expect(d.arch).toBe('riscv64');
    expect(d.inconclusive?.reasons[0]).toContain("the target's architecture is riscv64: its syscall numbers are not decoded");
    expect(d.processes.map((p) => p.syscall)).toEqual(['syscall_73', 'syscall_73']);
    expect(renderText(d)).not.toContain('flock');
  });

  test('a process that exits while the last sample reads it: inconclusive, run again', async () => {
    writeTree(dir, { locks: '', uptime: UPTIME_60S, ...worker(40, '', '5 -> socket:[401]\n', { '40/net/tcp': NET, '40/syscall.error': 'ESRCH' }) });
    fs.rmSync(path.join(dir, '40/syscall'));
    const d = await run({ pids: [40] });
    expect(d.verdict).toBe('inconclusive');
    expect(d.inconclusive?.reasons.join('\n')).toContain('pid 40 exited while the last sample read it');
    expect(d.inconclusive?.hints.join('\n')).toContain('run the diagnosis again');
  });

  test('an idle pool read in full is healthy, even with the verdict rules this strict', async () => {
    const files: Record<string, string> = { locks: '', uptime: UPTIME_60S };
    for (const pid of [40, 41]) Object.assign(files, worker(pid, '43 0x3 0x0 0x0 0x0 0x0 0x0 0x0 0x0\n', '3 -> socket:[100]\n', { [`${pid}/net/tcp`]: NET }));
    writeTree(dir, files);
    const d = await run();
    expect(d.verdict).toBe('healthy');
    expect(d.inconclusive).toBeUndefined();
  });
});

describe('bounded waits: the timeout behind a pointer is read from /proc/PID/mem', () => {
  const memWith = (timeoutHex: string) => `0x1000 0500000001000000\n0x2000 ${timeoutHex}\n`;
  // struct timespec/timeval: two 64-bit little-endian words.
  const TWO_SECONDS = '0200000000000000' + '0000000000000000';
  const ppoll = (nr: number, tmo: string) => `${nr} 0x1000 0x1 ${tmo} 0x0 0x8 0x0 0x0 0x0\n`;

  test.each([
    ['x86_64', 271],
    ['aarch64', 73],
  ])('%s ppoll with a 2 s timespec is a bounded wait; with NULL it waits forever', async (arch, nr) => {
    writeTree(dir, { ...pileUp((pid) => ({ [`${pid}/syscall`]: ppoll(nr, '0x2000'), [`${pid}/mem.hex`]: memWith(TWO_SECONDS) })), arch: `${arch}\n` });
    const bounded = await run();
    expect(bounded.processes[0]?.syscall).toBe('ppoll(1 fd, timeout 2000)');
    expect(bounded.verdict).toBe('healthy');
    writeTree(dir, pileUp((pid) => ({ [`${pid}/syscall`]: ppoll(nr, '0x0') })));
    const forever = await run();
    expect(forever.verdict).toBe('stuck');
    expect(forever.culprit?.syscall).toBe('ppoll(1 fd, timeout -1)');
  });

  test('select with a 2 s timeval (tv_usec) and pselect6 with a 1.5 s timespec (tv_nsec)', async () => {
    // select(nfds 6, readfds 0x1000 (fd 5), NULL, NULL, timeout 0x2000) on x86_64 (23).
    const fdSet = '2000000000000000';
    const timeval = '0100000000000000' + '20a1070000000000'; // 1 s + 500000 µs
    writeTree(dir, pileUp((pid) => ({ [`${pid}/syscall`]: '23 0x6 0x1000 0x0 0x0 0x2000 0x0 0x0 0x0\n', [`${pid}/mem.hex`]: `0x1000 ${fdSet}\n0x2000 ${timeval}\n` })));
    const sel = await run();
    expect(sel.processes[0]?.syscall).toBe('select(nfds 6, timeout 1500)');
    expect(sel.verdict).toBe('healthy');
    const timespec = '0100000000000000' + '0065cd1d00000000'; // 1 s + 500000000 ns
    writeTree(dir, pileUp((pid) => ({ [`${pid}/syscall`]: '270 0x6 0x1000 0x0 0x0 0x2000 0x0 0x0 0x0\n', [`${pid}/mem.hex`]: `0x1000 ${fdSet}\n0x2000 ${timespec}\n` })));
    const psel = await run();
    expect(psel.processes[0]?.syscall).toBe('pselect6(nfds 6, timeout 1500)');
    expect(psel.verdict).toBe('healthy');
  });
});

describe('what the socket shows', () => {
  const ssLine = (inode: number, timer: string, info: string) =>
    `ESTAB 0 89 10.0.0.10:4915${inode % 10} 10.0.0.11:9090 ${timer} uid:33 ino:${inode} sk:1 cgroup:/ <->\n\t ts sack cubic wscale:7,7 rto:3200 ${info}\n`;

  test('parses ss -tinHe: timers in print_ms_timer form, retransmits, unacked and the socket times', () => {
    expect(parseSsTimer('568ms')).toBe(568);
    expect(parseSsTimer('1.200ms')).toBe(1200);
    expect(parseSsTimer('12sec')).toBe(12_000);
    expect(parseSsTimer('1min2sec')).toBe(62_000);
    const socks = parseSs(ssLine(401, 'timer:(on,1.200ms,4)', 'unacked:1 retrans:1/4 lastsnd:8400 lastrcv:8420 lastack:8410 snd_wnd:65536'));
    expect(socks.get(401)).toMatchObject({ timer: { name: 'on', expiresMs: 1200, count: 4 }, unacked: 1, retrans: 1, retransTotal: 4, lastsndMs: 8400, lastrcvMs: 8420, lastackMs: 8410, sndWnd: 65536 });
  });

  test('bytes unacknowledged and retransmitted: unreachable-peer, with the ages in the evidence', async () => {
    const net = TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401, 89, 0, '01:00000078') + tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402, 89, 0, '01:00000078');
    // The last retransmit went out 300 ms ago; the peer's host last acknowledged 8.4 s ago.
    const ss = ssLine(401, 'timer:(on,1.200ms,4)', 'unacked:1 retrans:1/4 lastsnd:300 lastrcv:8420 lastack:8410') + ssLine(402, 'timer:(on,1.200ms,4)', 'unacked:1 retrans:1/4 lastsnd:200 lastrcv:8320 lastack:8310');
    writeTree(dir, { ...pileUp((pid) => ({ [`${pid}/net/tcp`]: net })), ss });
    const d = await run();
    expect(d.culprit).toMatchObject({ kind: 'unreachable-peer', resource: { service: 'db', unacked: 1, retransmits: 4, lastSendMs: 300 } });
    const evidence = d.culprit?.evidence.join('\n') ?? '';
    expect(evidence).toContain('socket times (sock_diag): db silent for 8.4 s, since before our last send 300 ms ago; 1 segment unacknowledged, 4 retransmits on this connection, last ACK from it 8.4 s ago');
    expect(evidence).toContain(
      "our bytes are not acknowledged (tx_queue 89 bytes, 1 segment in flight, timer retransmit, 4 retransmits), and no ACK has come from the peer's host for 8.4 s, since before our last send 300 ms ago",
    );
    expect(evidence).not.toContain('lost FIN');
    expect(renderText(d)).toContain('STUCK: unreachable-peer — pid 40 (worker) and 1 other wait on the same upstream (no lock between them); upstream db; waiting 60 s');
    expect(renderText(d)).not.toContain('blocks');
  });

  test('zero-window probes: answered (the count stays under UNANSWERED_PROBES) is peer-not-reading; unanswered twice in a row is unreachable-peer', async () => {
    const net = TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401, 3_000_000, 0, '04:00000100') + tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402, 3_000_000, 0, '04:00000100');
    const probed = async (count: number, lastack: number) => {
      const ss = ssLine(401, `timer:(persist,1.6sec,${count})`, `lastsnd:9000 lastrcv:9000 lastack:${lastack}`) + ssLine(402, `timer:(persist,1.6sec,${count})`, `lastsnd:9000 lastrcv:9000 lastack:${lastack}`);
      writeTree(dir, { ...pileUp((pid) => ({ [`${pid}/net/tcp`]: net })), ss });
      return run();
    };
    // A frozen peer's kernel answers each probe (the ACK resets the count; its last ACK is recent).
    const answered = await probed(0, 400);
    expect(answered.culprit?.kind).toBe('peer-not-reading');
    expect(answered.culprit?.evidence.join('\n')).toContain("the peer's kernel acknowledges but its receive window is closed");
    // A partition that landed with the window closed: probes go out, nothing comes back.
    const unanswered = await probed(UNANSWERED_PROBES + 1, 6200);
    expect(unanswered.culprit?.kind).toBe('unreachable-peer');
    expect(unanswered.culprit?.evidence.join('\n')).toContain(`zero-window probes go unanswered (${UNANSWERED_PROBES + 1} out, timer zero-window-probe; an ACK would reset the count), no ACK from the peer's host for 6.2 s`);
  });

  test("a writer's request is as old as its connection while nothing came back on it; on a pooled connection that age is unknown", async () => {
    // Two workers in sendto with full send queues under a zero-window probe, last run 1 s ago (the
    // peer reads now and then); the connections were opened 8 s ago.
    const net = TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401, 3_000_000, 0, '04:00000100') + tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402, 3_000_000, 0, '04:00000100');
    const tree = (received: string) => ({
      ...pileUp((pid) => ({ [`${pid}/net/tcp`]: net, [`${pid}/syscall`]: '44 0x5 0x7ffd 0x10000 0x0 0x0 0x0 0x0 0x0\n', [`${pid}/sched`]: 'se.exec_start : 999000.000000\n' })),
      ss: ssLine(401, 'timer:(persist,200ms,0)', `lastsnd:1000 lastrcv:8000 lastack:1000${received}`) + ssLine(402, 'timer:(persist,200ms,0)', `lastsnd:1000 lastrcv:8200 lastack:1000${received}`),
    });
    writeTree(dir, tree(''));
    const fresh = await run();
    expect(fresh.culprit).toMatchObject({ kind: 'peer-not-reading', resource: { service: 'db' } });
    expect(fresh.culprit?.evidence.join('\n')).toContain('the oldest request is still being written on a connection opened 8.2 s ago, nothing received on it');
    writeTree(dir, tree(' bytes_received:4096'));
    const pooled = await run();
    expect(pooled.verdict).toBe('healthy');
    expect(pooled.chains[0]?.evidence.join('\n')).toContain('under --stuck-after 5 s, requests in flight, not stuck');
  });

  test("retransmitting while the peer's host still acknowledges: peer-not-reading, not unreachable", async () => {
    const net = TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401, 32741, 0, '01:00000078') + tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402, 32741, 0, '01:00000078');
    const ss = ssLine(401, 'timer:(on,1.068ms,0)', 'unacked:1 retrans:1/4 lastsnd:564 lastrcv:2396 lastack:564') + ssLine(402, 'timer:(on,1.068ms,0)', 'unacked:1 retrans:1/4 lastsnd:600 lastrcv:2400 lastack:580');
    writeTree(dir, { ...pileUp((pid) => ({ [`${pid}/net/tcp`]: net, [`${pid}/syscall`]: '44 0x5 0x7ffd 0x10000 0x0 0x0 0x0 0x0 0x0\n' })), ss });
    const d = await run();
    expect(d.culprit?.kind).toBe('peer-not-reading');
    expect(d.culprit?.evidence.join('\n')).toContain("we retransmit (4 retransmits, tx_queue 32741) but the peer's host acknowledges (last ACK 564 ms ago, after our last send 564 ms ago)");
    // Without sock_diag the same /proc/net/tcp row says only that it retransmits: unreachable, and the text says what is not known.
    writeTree(dir, pileUp((pid) => ({ [`${pid}/net/tcp`]: TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401, 89, 0, '01:00000078').replace(' 00000000    33', ' 00000004    33') + tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402, 89, 0, '01:00000078').replace(' 00000000    33', ' 00000004    33') })));
    fs.rmSync(path.join(dir, 'ss'));
    const blind = await run();
    expect(blind.culprit?.kind).toBe('unreachable-peer');
    expect(blind.culprit?.evidence.join('\n')).toContain('sock_diag is unavailable, so whether its host still answers at all is not known');
  });

  test('a silent wait decides by how long its request is outstanding: a loop that sends anew (BLPOP, long-poll) is young however long the process sleeps', async () => {
    // Both workers have not run for 60 s, all of theirs acknowledged, nothing back: silent-peer.
    const net = TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401) + tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402);
    const ss = (snd: number, rcv: number) =>
      ssLine(401, '', `lastsnd:${snd} lastrcv:${rcv} lastack:${snd} bytes_sent:40 bytes_received:20`) + ssLine(402, '', `lastsnd:${snd + 10} lastrcv:${rcv + 10} lastack:${snd + 10} bytes_sent:40 bytes_received:20`);
    // Our last send 800 ms ago: the current request is 800 ms old (the previous one was answered).
    writeTree(dir, { ...pileUp((pid) => ({ [`${pid}/net/tcp`]: net })), ss: ss(800, 1200) });
    const young = await run();
    expect(young.verdict).toBe('healthy');
    expect(young.chains[0]).toMatchObject({ kind: 'silent-peer', culprit: false, waitMs: 800 });
    expect(young.chains[0]?.evidence[0]).toContain('(waited 800 ms to 810 ms): under --stuck-after 5 s, requests in flight, not stuck');
    // Sent 8.4 s ago and still unanswered: stuck, and the evidence says the age is the request's.
    writeTree(dir, { ...pileUp((pid) => ({ [`${pid}/net/tcp`]: net })), ss: ss(8400, 8420) });
    const old = await run();
    expect(old.culprit).toMatchObject({ kind: 'silent-peer', waiters: [41] });
    expect(old.culprit?.evidence[0]).toContain('the oldest request was sent 8.4 s ago, still unanswered (>= --stuck-after 5 s)');
  });

  test('a zero-window probe timer: peer-not-reading', async () => {
    const net = TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401, 3_000_000, 0, '04:00000100') + tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402, 3_000_000, 0, '04:00000100');
    writeTree(dir, pileUp((pid) => ({ [`${pid}/net/tcp`]: net, [`${pid}/syscall`]: '44 0x5 0x7ffd 0x10000 0x0 0x0 0x0 0x0 0x0\n' })));
    const d = await run();
    expect(d.culprit?.kind).toBe('peer-not-reading');
    expect(d.culprit?.evidence.join('\n')).toContain("zero-window probes (timer zero-window-probe): the peer's kernel acknowledges but its receive window is closed");
  });

  test('a silent peer under keepalive never reads "no timer"; every explanation is offered as consistent, none asserted', async () => {
    const net = TCP_HEADER + tcpRow(0, '0A00000A:C001', '0B00000A:2382', '01', 401, 0, 0, '02:00000100') + tcpRow(1, '0A00000A:C002', '0B00000A:2382', '01', 402, 0, 0, '02:00000100');
    writeTree(dir, pileUp((pid) => ({ [`${pid}/net/tcp`]: net })));
    const d = await run();
    expect(d.culprit?.kind).toBe('silent-peer');
    const evidence = d.culprit?.evidence.join('\n') ?? '';
    expect(evidence).toContain('keepalive runs on it (timer keepalive)');
    expect(evidence).not.toContain('no timer');
    expect(evidence).toContain('consistent with a lost FIN/RST, a frozen peer, or a peer busy elsewhere');
    // Without keepalive, the sentence says so.
    writeTree(dir, pileUp());
    const plain = await run();
    expect(plain.culprit?.evidence.join('\n')).toContain('no timer runs on it (no keepalive)');
    // Socket times were not recorded: said once, as a warning.
    expect(plain.warnings.join('\n')).toContain('socket times (sock_diag, ss -tinHe) unavailable: not recorded in this fixture');
  });
});
