/**
 * watch's pieces that need no live pool: option parsing, the services file, snapshot rotation,
 * the state machine on recorded diagnoses (never page on inconclusive), and the scenario
 * emitter's mapping (kind -> fault, lock -> app, names, pool size).
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { emitScenario, lockShape, serviceName } from '../../harness/emit/scenario';
import { stuckDiagnosis } from '../helpers/stuck-diagnosis';
import { parseServicesJson, parseWatchArgs, rotate, WatchMetrics, Watcher } from '../../harness/watch';
import type { ReaderSource } from '../../harness/watch';
import { validateScenario } from '../../harness/scenario/schema';
import { usage } from '../helpers/usage';

const work = mkdtempSync(join(tmpdir(), 'faultline-watch-unit-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('parseWatchArgs', () => {
  test('defaults and flags into one complete config', () => {
    expect(parseWatchArgs(['--match', 'apache2'])).toMatchObject({ intervalMs: 5000, stuckFor: 3, keep: 20, listen: { host: '127.0.0.1', port: 9464 }, once: false });
    expect(parseWatchArgs(['--pid', '1,2', '--interval', '0.5', '--stuck-for', '1', '--listen', '[::1]:9100', '--keep', '3'])).toMatchObject({
      target: { pids: [1, 2] },
      intervalMs: 500,
      stuckFor: 1,
      keep: 3,
      listen: { host: '::1', port: 9100 },
    });
  });
  test.each([
    [['--match', 'x', '--interval', '0'], /--interval "0" must be seconds from 0.5 to 3600/],
    [['--match', 'x', '--interval', 'fast'], /--interval "fast"/],
    [['--match', 'x', '--stuck-for', '0'], /--stuck-for "0" must be a whole number/],
    [['--match', 'x', '--listen', 'localhost'], /--listen "localhost" must be HOST:PORT/],
    [['--match', 'x', '--keep', '0'], /--keep "0"/],
    [['--match', '('], /^watch: --match "\(" is not a valid regular expression/],
    [['--match', 'a', '--pid', '1'], /^watch: give --match or --pid, not both/],
    [[], /^watch: say which processes/],
    [['--match', 'x', '--bogus'], /unknown argument "--bogus" \(see faultline watch --help\)/],
  ])('%j is one line naming the flag', (args, message) => {
    expect(usage(() => parseWatchArgs(args))).toMatch(message);
  });
});

describe('services file', () => {
  test('names and addresses, one or many', () => {
    expect(parseServicesJson('{"redis":"10.0.0.5:6379","db":["10.0.0.6:3306","[::1]:3306"]}', 'f')).toEqual({
      services: [
        { name: 'redis', addresses: [{ host: '10.0.0.5', port: 6379 }] },
        { name: 'db', addresses: [{ host: '10.0.0.6', port: 3306 }, { host: '::1', port: 3306 }] },
      ],
    });
  });
  test.each(['[]', '{"redis":"10.0.0.5"}', '{"redis":[]}', '{"a b":"h:1"}', 'nope', '{"x":"h:70000"}'])('%s is bad input', (text) => {
    usage(() => parseServicesJson(text, '--services f'));
  });
});

test('rotate keeps the newest N snapshots with their text reports', () => {
  const dir = join(work, 'rotate');
  require('node:fs').mkdirSync(dir);
  for (const t of ['20261202T100000000Z', '20261202T110000000Z', '20261202T120000000Z']) {
    writeFileSync(join(dir, `incident-${t}.json`), '{}');
    writeFileSync(join(dir, `incident-${t}.txt`), '');
  }
  writeFileSync(join(dir, 'notes.json'), '{}'); // not a snapshot: never removed
  expect(rotate(dir, 2)).toEqual(['incident-20261202T100000000Z.json']);
  expect(readdirSync(dir).sort()).toEqual(['incident-20261202T110000000Z.json', 'incident-20261202T110000000Z.txt', 'incident-20261202T120000000Z.json', 'incident-20261202T120000000Z.txt', 'notes.json']);
});

const meta = { observedOn: 'web-3 */ at noon', generator: 'test' };

describe('emitScenario', () => {
  test.each([
    ['half-open-read', 'lostFin(SERVICE)', '/profile.php'],
    ['silent-peer', 'lostFin(SERVICE)', '/profile.php'],
    ['connect-stall', 'synBlackhole(SERVICE)', '/profile.php'],
    ['unreachable-peer', 'partition(SERVICE)', '/upload.php'],
    ['peer-not-reading', 'pauseNode(SERVICE)', '/upload.php'],
    ['stalled-write', 'pauseNode(SERVICE)', '/upload.php'],
    ['slow-peer', "toxic(SERVICE, 'bandwidth'", '/profile.php'],
  ])('%s -> %s', (kind, call, page) => {
    const e = emitScenario(stuckDiagnosis(kind), meta);
    expect(e.text).toContain(call);
    expect(e.text.includes(page) || (page === '/profile.php' && e.text.includes('profileUnderFault('))).toBe(true);
    expect(e).toMatchObject({ service: 'sessions-db', kind, lock: 'file', workers: 5 });
    expect(e.text).toContain(`variants: hangsUntilFixed({ service: SERVICE, kind: ${JSON.stringify(kind)} })`);
    // The observed text cannot end the header comment early.
    expect(e.text).not.toContain('web-3 */');
  });

  test('stalled-write with a retransmit timer is an unreachable peer: partition', () => {
    const d = stuckDiagnosis('stalled-write');
    d.culprit.resource.timer = 'retransmit';
    expect(emitScenario(d, meta).text).toContain('partition(SERVICE)');
  });

  test('a polled lock (phpredis) -> the FPM stack; no lock -> the lock released', () => {
    const polled = stuckDiagnosis('half-open-read');
    polled.culprit.holds = [{ type: 'redis-session-lock', access: 'polled', file: 'redis', path: '' }];
    const p = emitScenario(polled, meta);
    expect(p.lock).toBe('polled');
    expect(p.text).toContain(".withBundledWeb('fpm'");
    expect(p.text).toContain('repliesLost(SERVICE)');
    const none = stuckDiagnosis('connect-stall');
    none.culprit.holds = [];
    none.chains[0]!.links = [];
    expect(lockShape(none)).toBe('none');
    expect(emitScenario(none, meta).text).toContain('lock_across_io=0');
    expect(emitScenario(none, meta).text).toContain("diagnoseByMs: 12_000");
  });

  test('the emitted scenario passes the scenario schema', () => {
    // The text is TypeScript; its literal parts are checked by the integration test's tsc. Here:
    // the name, summary and shows the schema bounds.
    const e = emitScenario(stuckDiagnosis('half-open-read', {}), { observedOn: 'x'.repeat(400), generator: 't' });
    const field = (f: string) => JSON.parse(new RegExp(`^  ${f}: (".*"),$`, 'm').exec(e.text)![1]!) as string;
    expect(() => validateScenario({ name: field('name'), summary: field('summary'), shows: field('shows'), variants: { incident: { expected: 'hung' } }, run: async () => undefined }, 'x')).not.toThrow();
  });

  test('names: lower-cased, dashed, `upstream` when unnamed or unusable, clear of the stack', () => {
    expect(serviceName('Sessions_DB')).toBe('sessions-db');
    expect(serviceName(undefined)).toBe('upstream');
    expect(serviceName('9000')).toBe('upstream');
    expect(serviceName('web')).toBe('upstream');
    expect(serviceName('redis', ['redis'])).toBe('redis-upstream');
  });

  test('not stuck, or a kind no network fault produces: bad input', () => {
    expect(usage(() => emitScenario({ verdict: 'healthy', culprit: null }, meta))).toMatch(/only for a stuck pool/);
    expect(usage(() => emitScenario(stuckDiagnosis('busy-loop'), meta))).toMatch(/busy-loop is not a network fault/);
  });
});

describe('Watcher state machine (recorded diagnoses, no /proc)', () => {
  function watcherOver(verdicts: string[], stuckFor: number) {
    const lines: string[] = [];
    const out = mkdtempSync(join(work, 'sm-'));
    const w = new Watcher({ target: { match: /x/ }, source: {} as ReaderSource, intervalMs: 1000, stuckFor, out, keep: 5, metrics: new WatchMetrics(), log: (l) => lines.push(l), signal: new AbortController().signal });
    const feed = (w as unknown as { transition(r: unknown): void }).transition.bind(w);
    for (const v of verdicts) {
      const diagnosis = v === 'stuck' ? stuckDiagnosis() : { ...stuckDiagnosis(), verdict: v, culprit: null, chains: [] };
      feed({ verdict: v, diagnosis, collected: { reader: 'fixture', arch: 'x86_64', samples: [], selected: [], warnings: [] }, wallMs: 0, cpuMs: 0 });
    }
    return { lines, snapshots: readdirSync(out).filter((f) => f.endsWith('.json')) };
  }

  test('an incident opens after stuck-for consecutive stuck samples, once, and closes on healthy', () => {
    const { lines, snapshots } = watcherOver(['stuck', 'stuck', 'stuck', 'stuck', 'healthy'], 3);
    expect(snapshots).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('stuck for'))).toHaveLength(1);
    expect(lines.filter((l) => l.startsWith('recovered after'))).toHaveLength(1);
  });

  test('inconclusive breaks the streak and never pages; nor does it close an open incident', () => {
    expect(watcherOver(['stuck', 'stuck', 'inconclusive', 'stuck', 'stuck'], 3).snapshots).toHaveLength(0);
    const open = watcherOver(['stuck', 'inconclusive', 'inconclusive'], 1);
    expect(open.snapshots).toHaveLength(1);
    expect(open.lines.some((l) => l.startsWith('recovered'))).toBe(false);
  });
});

describe('MatchSelection (a --match kept across ticks)', () => {
  const proc = join(work, 'proc');
  const set = (pid: number, cmdline: string | undefined) => {
    const { mkdirSync } = require('node:fs') as typeof import('node:fs');
    if (cmdline === undefined) return rmSync(join(proc, String(pid)), { recursive: true, force: true });
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'cmdline'), `${cmdline.split(' ').join('\0')}\0`);
  };
  test('new processes are read; a fork is read again after its exec; a rename is found by the next full rescan; the gone are dropped', () => {
    const { MatchSelection } = require('../../harness/watch/selection') as typeof import('../../harness/watch/selection');
    set(1, '/sbin/init');
    set(10, '/usr/sbin/apache2 -k start');
    const s = new MatchSelection(/apache2/, proc);
    expect(s.select()).toEqual([10]);
    set(11, 'sh -c start'); // forked, not yet exec'd
    expect(s.select()).toEqual([10]);
    set(11, '/usr/sbin/apache2 -k start'); // exec'd since: read once more on the next tick
    expect(s.select().sort()).toEqual([10, 11]);
    set(10, undefined);
    expect(s.select()).toEqual([11]);
    set(1, 'apache2 (renamed)');
    const seen: number[][] = [];
    for (let i = 0; i < 12; i++) seen.push(s.select());
    expect(seen[0]).toEqual([11]); // cached
    expect(seen.some((x) => x.includes(1))).toBe(true); // the full rescan found it
  });
});
