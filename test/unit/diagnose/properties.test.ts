/**
 * Property-based tests (fast-check): every /proc parser, and diagnose() over recorded fixtures whose
 * files are mutated (fields replaced by junk, lines truncated or duplicated, reads failing), never
 * throws and never puts NaN or Infinity anywhere in its result. How long they take is measured by
 * `npm run bench:bounds` (a time bound here would fail on a loaded shared machine, not on a bug).
 * A failure prints fast-check's seed and path: rerun with them to replay it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import {
  diagnose,
  FixtureProcReader,
  renderJson,
  renderText,
  type ProcReader,
  type ProcSnapshot,
} from '../../../harness/diagnose';
import {
  parseCmdline,
  parseFdinfo,
  parseFdSet,
  parseIo,
  parseLockLine,
  parseLocks,
  parseNetTcp,
  parsePollfds,
  parseSchedExecStart,
  parseStat,
  parseStatus,
  parseSyscallLine,
  parseUptimeSeconds,
  socketInode,
} from '../../../harness/diagnose/parse';

const FIXTURES = path.join(__dirname, 'fixtures');

/** Every number reachable from `value` (objects, arrays, Maps) must be finite. Returns the bad path. */
function nonFinite(value: unknown, at = '$', seen = new Set<unknown>()): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${at} = ${value}`;
  if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
  seen.add(value);
  const entries: Array<[string, unknown]> =
    value instanceof Map ? [...value.entries()].map(([k, v]) => [String(k), v]) : Object.entries(value as Record<string, unknown>);
  if (value instanceof Map) for (const k of value.keys()) if (typeof k === 'number' && !Number.isFinite(k)) return `${at} key ${k}`;
  for (const [k, v] of entries) {
    const bad = nonFinite(v, `${at}.${k}`, seen);
    if (bad) return bad;
  }
  return undefined;
}

// Tokens that have broken number parsing before: huge digit runs (Infinity), signs, exponents,
// hex where decimal is expected, empty fields, NaN spelled out.
const JUNK = ['', 'NaN', 'Infinity', '-', '-1', '1e999', '9'.repeat(400), 'f'.repeat(40), '0x', 'zz', '+5', ' ', ':', '((', ')', '\0', '->', '1.5', '00000000:00000000'];
const junkToken = fc.oneof(fc.constantFrom(...JUNK), fc.string({ maxLength: 12 }));

/** A real line with one whitespace-separated field replaced (or the line cut). */
function mutatedLine(real: string): fc.Arbitrary<string> {
  const words = real.split(/(\s+)/);
  return fc.oneof(
    fc.tuple(fc.nat(words.length - 1), junkToken).map(([i, t]) => words.map((w, j) => (j === i ? t : w)).join('')),
    fc.nat(real.length).map((n) => real.slice(0, n)),
    fc.tuple(fc.nat(real.length), fc.constantFrom(' '.repeat(5000), '('.repeat(5000), '9'.repeat(5000), ' ('.repeat(3000))).map(
      ([n, pad]) => real.slice(0, n) + pad + real.slice(n),
    ),
  );
}

const SAMPLES = {
  stat: '30238 (python3) S 30200 30238 30200 34816 30238 4194560 2000 0 0 0 12 3 0 0 20 0 3 0 5545128 25509888 2560 18446744073709551615\n',
  status: 'Name:\tphp-fpm8.2\nUid:\t33\t33\t33\t33\nNSpid:\t30238\t12\nvoluntary_ctxt_switches:\t67\nnonvoluntary_ctxt_switches:\t2\n',
  syscall: '7 0x7ffd6a2d6e98 0x1 0xffffffffffffffff 0x0 0x0 0x0 0x7ffd6a2d6e60 0x7f1a2b3c4d5e\n',
  io: 'rchar: 2012\nwchar: 530\nsyscr: 10\nsyscw: 4\nread_bytes: 0\nwrite_bytes: 0\n',
  sched: 'python3 (30238, #threads: 1)\n---\nse.exec_start                                :        303807.117152\n',
  uptime: '3307.25 12000.10\n',
  lock: '1: FLOCK  ADVISORY  WRITE 30238 fe:00:9977874 0 EOF',
  locks: '1: FLOCK  ADVISORY  WRITE 30238 fe:00:9977874 0 EOF\n1: -> FLOCK  ADVISORY  WRITE 30279 fe:00:9977874 0 EOF\n2: POSIX  ADVISORY  READ 100 08:01:123 0 EOF\n',
  fdinfo: 'pos:\t0\nflags:\t02000002\nmnt_id:\t29\nino:\t9977874\nlock:\t1: FLOCK  ADVISORY  WRITE 30238 fe:00:9977874 0 EOF\ntfd:        5 events:       19 data:                5  pos:0 ino:16a3 sdev:8\n',
  tcp:
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
    '   0: 0100007F:D0F0 0100007F:C4A1 01 00000000:00000000 00:00000000 00000000     0        0 93439 1 0000000000000000 20 4 30 10 -1\n',
  tcp6:
    '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n' +
    '   0: 0000000000000000FFFF00000100007F:D0F0 0000000000000000FFFF00000100007F:C4A1 01 00000010:00000000 01:00000020 00000003     0        0 93440 1 0000000000000000 20 4 30 10 -1\n',
};

/** Either an arbitrary string, or a real /proc text with one line mutated. */
function procText(real: string): fc.Arbitrary<string> {
  const lines = real.split('\n');
  const oneLine = fc
    .nat(lines.length - 1)
    .chain((i) => mutatedLine(lines[i] as string).map((m) => lines.map((l, j) => (j === i ? m : l)).join('\n')));
  return fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 }), oneLine, oneLine.map((t) => `${t}\n${t}`));
}

const PARSERS: Array<[string, string, (text: string) => unknown]> = [
  ['parseStat', SAMPLES.stat, parseStat],
  ['parseStatus', SAMPLES.status, parseStatus],
  ['parseSyscallLine', SAMPLES.syscall, parseSyscallLine],
  ['parseIo', SAMPLES.io, parseIo],
  ['parseSchedExecStart', SAMPLES.sched, parseSchedExecStart],
  ['parseUptimeSeconds', SAMPLES.uptime, parseUptimeSeconds],
  ['parseLockLine', SAMPLES.lock, parseLockLine],
  ['parseLocks', SAMPLES.locks, parseLocks],
  ['parseFdinfo', SAMPLES.fdinfo, parseFdinfo],
  ['parseNetTcp(4)', SAMPLES.tcp, (t) => parseNetTcp(t, 4)],
  ['parseNetTcp(6)', SAMPLES.tcp6, (t) => parseNetTcp(t, 6)],
  ['socketInode', 'socket:[93439]', socketInode],
  ['parseCmdline', 'php-fpm: pool www\0\0', parseCmdline],
];

describe('parsers: any text, never a throw, NaN or Infinity', () => {
  test.each(PARSERS)('%s', (_name, real, parse) => {
    // The sample parses to finite numbers to begin with (the property is not vacuous).
    expect(nonFinite(parse(real))).toBeUndefined();
    fc.assert(
      fc.property(procText(real), (text) => {
        expect(nonFinite(parse(text))).toBeUndefined();
      }),
      { numRuns: 400 },
    );
  });

  test('binary parsers (pollfd arrays, fd_sets): any bytes, any nfds', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.integer({ min: -5, max: 5000 }), (bytes, nfds) => {
        const buf = Buffer.from(bytes);
        expect(nonFinite(parsePollfds(buf))).toBeUndefined();
        expect(nonFinite(parseFdSet(buf, nfds))).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  test('the fields that once gave NaN or Infinity now give undefined', () => {
    expect(parseIo(`rchar: ${'9'.repeat(400)}\n`).rchar).toBeUndefined();
    expect(parseStatus('NSpid:\t12\tx\n').nspid).toBeUndefined();
    expect(parseFdinfo(`pos:\t${'9'.repeat(400)}\ntfd: ${'9'.repeat(400)} events: 19\n`)).toEqual({ locks: [], epollTargets: [] });
    expect(parseLockLine(`1: FLOCK ADVISORY WRITE 5 fe:00:${'9'.repeat(400)} 0 EOF`)).toBeUndefined();
    const garbledQueue = SAMPLES.tcp.replace('00000000:00000000', 'zz:00000000');
    expect(parseNetTcp(garbledQueue, 4)).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------
// diagnose() on mutated fixtures

/** Wraps a reader: each read whose path hashes into the mutation set gets its text mutated (or fails). */
class MutatingReader implements ProcReader {
  readonly description: string;
  constructor(
    private readonly inner: ProcReader,
    private readonly plan: { salt: number; oneIn: number; tokens: string[]; cut: number },
  ) {
    this.description = `mutated ${inner.description}`;
  }

  async snapshot(): Promise<ProcSnapshot> {
    const snap = await this.inner.snapshot();
    const plan = this.plan;
    const pick = (p: string): number | undefined => {
      let h = plan.salt | 0;
      for (let i = 0; i < p.length; i++) h = Math.imul(h ^ p.charCodeAt(i), 16777619);
      h = h >>> 0;
      return h % plan.oneIn === 0 ? h : undefined;
    };
    const mutate = (p: string, text: string): ReturnType<ProcSnapshot['read']> => {
      const h = pick(p);
      if (h === undefined) return { ok: true, text };
      const token = plan.tokens[h % plan.tokens.length] ?? '';
      switch (h % 5) {
        case 0:
          return { ok: true, text: text.slice(0, plan.cut % (text.length + 1)) };
        case 1: {
          const words = text.split(/(\s+)/);
          words[(h >>> 3) % words.length] = token;
          return { ok: true, text: words.join('') };
        }
        case 2:
          return { ok: true, text: `${text}${token}\n${text}` };
        case 3:
          return { ok: false, error: ['EACCES', 'ENOENT', 'ESRCH', 'EIO'][h % 4] as string };
        default:
          return { ok: true, text: text.replace(/[0-9a-f]/g, (d, i: number) => (i % 7 === h % 7 ? token : d)) };
      }
    };
    return {
      arch: snap.arch,
      takenAtMs: snap.takenAtMs,
      ownPids: snap.ownPids,
      listPids: () => snap.listPids(),
      read: (p) => {
        const r = snap.read(p);
        return r.ok ? mutate(p, r.text) : r;
      },
      readLink: (p) => {
        const r = snap.readLink(p);
        return r.ok ? mutate(`link:${p}`, r.text) : r;
      },
      listFds: (pid) => {
        const r = snap.listFds(pid);
        if (!r.ok) return r;
        const m = mutate(`fds:${pid}`, r.fds.map((f) => `${f.fd} ${f.target}`).join('\n'));
        if (!m.ok) return m;
        return { ok: true, fds: r.fds.map((f, i) => (i === 0 ? { fd: f.fd, target: m.text.split('\n')[0]?.split(' ')[1] ?? '' } : f)) };
      },
      listTids: snap.listTids ? (pid) => snap.listTids!(pid) : undefined,
      readMem: (pid, address, length) => {
        const r = snap.readMem(pid, address, length);
        if (!r.ok || pick(`mem:${pid}`) === undefined) return r;
        return { ok: true, bytes: Buffer.alloc(Math.max(0, r.bytes.length - 3), 0xff) };
      },
    };
  }
}

const FIXTURE_NAMES = fs
  .readdirSync(FIXTURES)
  .filter((n) => fs.existsSync(path.join(FIXTURES, n, 's0')) && fs.existsSync(path.join(FIXTURES, n, 's1')));

describe('diagnose() on mutated recorded fixtures', () => {
  test('there are fixtures to mutate', () => {
    expect(FIXTURE_NAMES.length).toBeGreaterThanOrEqual(15);
  });

  test('never throws, no NaN or Infinity in the result or its JSON', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...FIXTURE_NAMES),
        fc.record({
          salt: fc.integer(),
          oneIn: fc.integer({ min: 1, max: 8 }),
          tokens: fc.array(junkToken, { minLength: 1, maxLength: 4 }),
          cut: fc.nat(),
        }),
        async (name, plan) => {
          const inner = new FixtureProcReader([path.join(FIXTURES, name, 's0'), path.join(FIXTURES, name, 's1')]);
          const d = await diagnose({ reader: new MutatingReader(inner, plan), intervalMs: 0 });
          const text = renderText(d);
          const json = JSON.parse(renderJson(d)) as unknown;
          expect(nonFinite(d)).toBeUndefined();
          expect(nonFinite(json)).toBeUndefined();
          // JSON.stringify turns NaN into null: the numeric fields that must be numbers still are.
          expect(JSON.stringify(json)).not.toMatch(/"(pid|root|txQueue|rxQueue|fd|samples|spanMs)":null/);
          expect(text.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 150 },
    );
  }, 120_000);
});
