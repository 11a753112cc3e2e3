import {
  parseFdinfo,
  parseFdSet,
  parseLocks,
  parseNetTcp,
  parsePollfds,
  parseStat,
  parseSyscallLine,
} from '../../../harness/diagnose/parse';
import { collectorScript, ContainerProcReader, parseDump } from '../../../harness/diagnose/container';
import { diagnose } from '../../../harness/diagnose';
import { decodeSyscall } from '../../../harness/diagnose/syscalls';
import { parseDiagnoseArgs } from '../../../harness/cli/diagnose';

describe('parsers', () => {
  test('stat: a comm with spaces and parentheses; truncated text gives undefined fields, never NaN or a throw', () => {
    const s = parseStat('123 (a) b (c)) R 1 123 123 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 777 1000 100');
    expect(s).toMatchObject({ pid: 123, comm: 'a) b (c)', state: 'R', ppid: 1, utimeTicks: 250, stimeTicks: 50, threads: 3, startTimeTicks: 777 });
    expect(parseStat('123 (trunc')).toBeUndefined();
    expect(parseStat('')).toBeUndefined();
    expect(parseStat('123 (x) S 1')?.utimeTicks).toBeUndefined();
  });

  test('syscall: blocked, running, outside a syscall, garbage', () => {
    expect(parseSyscallLine('73 0x3 0x2 0x0 0x7f 0x0 0x0 0x7ffc 0x7f1')).toEqual({ kind: 'syscall', nr: 73, args: [3n, 2n, 0n, 0x7fn, 0n, 0n] });
    expect(parseSyscallLine('running\n')).toEqual({ kind: 'running' });
    expect(parseSyscallLine('-1 0x7ffc 0x7f1')).toEqual({ kind: 'not-in-syscall' });
    expect(parseSyscallLine('zz 0x1')).toBeUndefined();
    expect(parseSyscallLine('7 0xZZ')).toBeUndefined();
    expect(parseSyscallLine('')).toBeUndefined();
  });

  test('syscall tables differ per architecture', () => {
    expect(decodeSyscall('x86_64', 73).name).toBe('flock');
    expect(decodeSyscall('aarch64', 73).name).toBe('ppoll');
    expect(decodeSyscall('x86_64', 7).cls).toBe('poll');
    expect(decodeSyscall('aarch64', 32).name).toBe('flock');
    expect(decodeSyscall('aarch64', 207).name).toBe('recvfrom');
    expect(decodeSyscall('x86_64', 232).cls).toBe('epoll');
    expect(decodeSyscall('x86_64', 9999)).toEqual({ nr: 9999, name: 'syscall_9999', cls: 'other' });
  });

  test('/proc/locks: waiters (all depths) belong to the granted lock with their ordinal; junk lines skipped', () => {
    const locks = parseLocks(
      [
        '1: FLOCK  ADVISORY  WRITE 100 fe:00:9977874 0 EOF',
        '1: -> FLOCK  ADVISORY  WRITE 101 fe:00:9977874 0 EOF',
        '1:  -> FLOCK  ADVISORY  WRITE 102 fe:00:9977874 0 EOF',
        'garbage',
        '2: POSIX  ADVISORY  READ 200 00:3c:12 1 1',
        '3: OFDLCK ADVISORY  READ -1 00:06:3 0 EOF',
        '4: FLOCK  ADVISORY  WRI',
      ].join('\n'),
    );
    expect(locks.map((l) => [l.pid, l.type, l.access, l.fileKey, l.waiters.map((w) => w.pid)])).toEqual([
      [100, 'FLOCK', 'WRITE', 'fe:00:9977874', [101, 102]],
      [200, 'POSIX', 'READ', '00:3c:12', []],
      [-1, 'OFDLCK', 'READ', '00:06:3', []],
    ]);
  });

  test('net/tcp and tcp6: addresses are little-endian words; malformed rows skipped', () => {
    const v4 = parseNetTcp(
      [
        '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
        '   3: 0100007F:9E3F 0100007F:AB00 01 00000010:00000020 04:00000100 00000002     33        0 40258 1 0 20 0 0 10 -1',
        '   4: 0100007F:ZZ 0100007F:AB00 01 0:0 0:0 0 0 0 1',
        '   5: truncated',
      ].join('\n'),
      4,
    );
    expect(v4).toEqual([
      {
        family: 4,
        local: { ip: '127.0.0.1', port: 0x9e3f },
        remote: { ip: '127.0.0.1', port: 0xab00 },
        state: 'ESTABLISHED',
        txQueue: 16,
        rxQueue: 32,
        timer: 4,
        timerJiffies: 256,
        retransmits: 2,
        uid: 33,
        inode: 40258,
      },
    ]);
    const v6 = parseNetTcp(
      [
        'header',
        '   0: 00000000000000000000000001000000:1F90 0000000000000000FFFF00000100007F:C350 02 00000001:00000000 01:00000015 00000000 0 0 99 1',
      ].join('\n'),
      6,
    );
    expect(v6[0]?.local).toEqual({ ip: '::1', port: 8080 });
    expect(v6[0]?.remote).toEqual({ ip: '::ffff:127.0.0.1', port: 50000 });
    expect(v6[0]?.state).toBe('SYN_SENT');
  });

  test('fdinfo: lock lines and epoll tfd lines', () => {
    const info = parseFdinfo('pos:\t0\nflags:\t02100001\nmnt_id:\t27\nino:\t9977874\nlock:\t1: FLOCK  ADVISORY  WRITE 30228 fe:00:9977874 0 EOF\n');
    expect(info.ino).toBe(9977874);
    expect(info.flags).toBe(0o2100001);
    expect(info.locks[0]).toMatchObject({ type: 'FLOCK', pid: 30228, fileKey: 'fe:00:9977874' });
    const ep = parseFdinfo('pos:\t0\ntfd:        5 events:       19 data:  5  pos:0 ino:9c6 sdev:8\ntfd:        7 events:        4 data: 7\n');
    expect(ep.epollTargets).toEqual([
      { fd: 5, events: 0x19 },
      { fd: 7, events: 4 },
    ]);
  });

  test('pollfd arrays and fd_sets', () => {
    expect(parsePollfds(Buffer.from('0500000001000000ffffffff04000000', 'hex'))).toEqual([
      { fd: 5, events: 1 },
      { fd: -1, events: 4 },
    ]);
    expect(parsePollfds(Buffer.from('050000', 'hex'))).toEqual([]);
    expect(parseFdSet(Buffer.from('2100000000000000', 'hex'), 6)).toEqual([0, 5]);
  });
});

describe('container dump', () => {
  test('the collector script is POSIX sh with both architectures\' poll/select numbers', () => {
    const script = collectorScript();
    expect(script).toContain('x86_64:7|x86_64:271');
    expect(script).toContain('aarch64:73');
    expect(script).toContain('aarch64:72');
    expect(script).not.toMatch(/\bbash\b|\bpython|\bnode\b/);
  });

  test('parseDump: sections, per-file errors, mem bytes, empty files, truncation', () => {
    const dump = parseDump(
      [
        '@@arch aarch64',
        '@@self 900',
        '@@pids 1 7 900',
        '@@grep',
        'uptime:100.00 50.00',
        'locks:1: FLOCK  ADVISORY  WRITE 7 00:3c:5 0 EOF',
        '7/stat:7 (perl) S 1 7 7 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 5 0 0',
        '7/cmdline:perl\u0000/holder.pl\u0000',
        '7/cmdline:second line',
        '1/stat:1 (sleep) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 1 0 0',
        '@@links',
        'self/ns/net\tnet:[1]',
        'self/ns/mnt\tmnt:[9]',
        '7/ns/net\tnet:[1]',
        '1/ns/mnt\tmnt:[9]',
        '7/fd/3\tsocket:[55]',
        '7/fd/4\t/tmp/sess.lock',
        '@@net',
        'self/net/tcp:  sl  local_address',
        'self/net/tcp:   0: 0100007F:9E3F 0100007F:AB00 01 00000000:00000000 00:00000000 00000000 0 0 55 1',
        '@@mem 7 0x7ffd0000 8',
        ' 05 00 00 00 01 00 00 00',
        '@@errors',
        "grep: 1/syscall: Permission denied",
        "find: '1/fd': Permission denied",
        "dd: failed to open '1/mem': Operation not permitted",
        '@@end',
      ].join('\n'),
    );
    expect(dump.arch).toBe('aarch64');
    expect(dump.pids).toEqual([1, 7, 900]);
    expect(dump.files.get('7/cmdline')).toBe('perl\u0000/holder.pl\u0000\nsecond line\n');
    expect(dump.fdsByPid.get(7)).toEqual([
      { fd: 3, target: 'socket:[55]' },
      { fd: 4, target: '/tmp/sess.lock' },
    ]);
    expect(dump.mems[0]?.bytes.toString('hex')).toBe('0500000001000000');
    expect(dump.errors.get('1/syscall')).toBe('EACCES');
    expect(dump.errors.get('1/fd')).toBe('EACCES');
    expect(dump.errors.get('1/mem')).toBe('EPERM');
    expect(dump.complete).toBe(true);
    const truncated = parseDump('@@arch x86_64\n@@pids 1 2\n@@grep\n1/stat:1 (a');
    expect(truncated.complete).toBe(false);
    expect(truncated.files.get('1/stat')).toBe('1 (a\n');
  });
  test('the script fetches the timeouts behind pointers (ppoll arg 2, select/pselect6 arg 4, epoll_pwait2 arg 3) and runs ss in the sidecar', () => {
    const script = collectorScript();
    expect(script).toContain('x86_64:271|aarch64:73)$/ && w[4] != "0x0") want(p[1], w[4], 16)');
    expect(script).toContain('if (w[6] != "0x0") want(p[1], w[6], 16)');
    expect(script).toContain('x86_64:441|aarch64:441)$/ && w[5] != "0x0") want(p[1], w[5], 16)');
    expect(script).toContain("ss -tinHe 2>>\"$E\"");
  });

  test('parseDump: an architecture not decoded stays unknown (never x86_64); the ss section, or why there is none', () => {
    const riscv = parseDump('@@arch riscv64\n@@pids 1\n@@ss\nESTAB 0 0 10.0.0.2:1 10.0.0.3:2 ino:55 sk:1 <->\n\t lastsnd:10 lastrcv:20 lastack:10\n@@errors\n@@end');
    expect(riscv).toMatchObject({ arch: 'unknown', archName: 'riscv64', ss: { text: expect.stringContaining('ino:55') } });
    expect(parseDump('@@arch x86_64\n@@ss-missing\n@@end').ss).toEqual({ missing: 'ss (iproute2) is not installed in the sidecar' });
    expect(parseDump('@@arch x86_64\n@@ss\n@@ss-failed 1\n@@end').ss).toEqual({ missing: 'ss -tinHe failed in the sidecar (exit 1)' });
  });
});

describe('container dump: threads', () => {
  test('the script reads task/ only for multi-threaded processes (stat field 20 > 1), in the same exec, and their polls\' memory', () => {
    const script = collectorScript();
    expect(script).toContain('if (w[18] + 0 > 1)');
    expect(script).toContain('"$p"/task/[0-9]*/syscall');
    expect(script).toContain('"$p"/task/[0-9]*/status "$p"/task/[0-9]*/sched');
    expect(script).toContain('(task[/][0-9]+[/])?syscall:');
    expect(script).not.toMatch(/\bbash\b|\bpython|\bnode\b/);
  });

  test('a dump with a multi-threaded holder: the worker thread blocked in recvfrom is the culprit\'s tid', async () => {
    const dump = [
      '@@arch x86_64',
      '@@self 900',
      '@@pids 7 9 900',
      '@@grep',
      'uptime:100.00 50.00',
      'locks:1: FLOCK  ADVISORY  WRITE 7 00:3c:5 0 EOF',
      'locks:1: -> FLOCK  ADVISORY  WRITE 9 00:3c:5 0 EOF',
      '7/stat:7 (java) S 1 7 7 0 -1 0 0 0 0 0 30 2 0 0 20 0 3 0 5 0 0',
      '7/syscall:202 0x7f00 0x189 0x0 0x0 0x0 0xffffffff 0x0 0x0',
      '7/cmdline:java\u0000-jar\u0000app.jar\u0000',
      '9/stat:9 (java) S 1 9 9 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 6 0 0',
      '9/syscall:73 0x3 0x2 0x0 0x0 0x0 0x0 0x0 0x0',
      '9/cmdline:java\u0000',
      '7/fdinfo/4:lock:\t1: FLOCK  ADVISORY  WRITE 7 00:3c:5 0 EOF',
      '7/task/7/stat:7 (java) S 1 7 7 0 -1 0 0 0 0 0 20 1 0 0 20 0 3 0 5 0 0',
      '7/task/7/syscall:202 0x7f00 0x189 0x0 0x0 0x0 0xffffffff 0x0 0x0',
      '7/task/8/stat:8 (pool-1-thread-1) S 1 7 7 0 -1 0 0 0 0 0 5 1 0 0 20 0 3 0 5 0 0',
      '7/task/8/syscall:45 0x3 0x7ffd 0x2000 0x0 0x0 0x0 0x0 0x0',
      '7/task/8/wchan:wait_woken',
      '7/task/8/status:voluntary_ctxt_switches:\t4',
      '@@links',
      'self/ns/net\tnet:[1]',
      '7/ns/net\tnet:[1]',
      '7/fd/3\tsocket:[55]',
      '7/fd/4\t/tmp/sess.lock',
      '9/fd/3\t/tmp/sess.lock',
      '@@net',
      'self/net/tcp:  sl  local_address',
      'self/net/tcp:   0: 0100007F:9E3F 0100007F:AB00 01 00000000:00000000 00:00000000 00000000 0 0 55 1',
      '@@errors',
      "grep: 7/task/10/stat: No such file or directory",
      "grep: 7/task/8/sched: Permission denied",
      '@@end',
    ].join('\n');
    expect(parseDump(dump).tidsByPid.get(7)).toEqual([7, 8]);
    const reader = new ContainerProcReader({ exec: async () => ({ exitCode: 0, stdout: dump, stderr: '' }) }, { name: 'app' });
    const d = await diagnose({ reader, samples: 1 });
    expect(d.culprit).toMatchObject({ pid: 7, tid: 8, kind: 'silent-peer', waiters: [9], syscall: 'recvfrom(fd 3)' });
    expect(d.culprit?.evidence.join('\n')).toContain('pid 7 (java) thread 8 (pool-1-thread-1) blocked in recvfrom(fd 3)');
  });
});

describe('CLI arguments', () => {
  test('resolved into a complete config; bad input names the flag', () => {
    expect(parseDiagnoseArgs(['--match', 'apache2|php', '--json', '--samples=3', '--interval', '100'])).toMatchObject({
      json: true,
      samples: 3,
      intervalMs: 100,
    });
    expect(parseDiagnoseArgs(['--pid', '12,13']).pids).toEqual([12, 13]);
    expect(parseDiagnoseArgs(['--container', 'web-1']).container).toBe('web-1');
    const usage = (args: string[]) => {
      try {
        parseDiagnoseArgs(args);
      } catch (e) {
        return e as { code: string; message: string };
      }
      throw new Error('no error');
    };
    expect(usage([])).toMatchObject({ code: 'FAULTLINE_USAGE', message: expect.stringContaining('--match REGEX, --pid') });
    expect(usage(['--pid', '0'])).toMatchObject({ message: expect.stringContaining('--pid "0"') });
    expect(usage(['--match', '['])).toMatchObject({ message: expect.stringContaining('--match "[" is not a valid regular expression') });
    expect(usage(['--match', 'x', '--pid', '1'])).toMatchObject({ message: expect.stringContaining('not both') });
    expect(usage(['--interval', '-5', '--pid', '1'])).toMatchObject({ message: expect.stringContaining('--interval') });
    expect(usage(['--samples'])).toMatchObject({ message: expect.stringContaining('--samples needs a value') });
    expect(usage(['--container', 'bad name'])).toMatchObject({ message: expect.stringContaining('--container') });
    expect(usage(['--frobnicate'])).toMatchObject({ message: expect.stringContaining('unknown argument "--frobnicate"') });
  });
});
