/**
 * The rules beyond pre-forked pools on /proc trees recorded from real processes
 * (test/unit/diagnose/record-fixtures.ts, scenarios `rules-*`, programs in test/helpers/stacks/):
 * thread pools, event loops, UNIX sockets, D state, polled locks and waits inside another service,
 * each with its healthy control; and the service-name parsers behind `--service`/`--services`.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { analyze, collect, FixtureProcReader, renderText, type ServiceRegistry } from '../../../harness/diagnose';
import { guessService, parseHostPort, parseServiceSpec, parseServicesJson, ServiceSpecError, upstreamText } from '../../../harness/diagnose/services';
import { parseNetUnix, parseSsUnix } from '../../../harness/diagnose/parse';

const FIXTURES = path.join(__dirname, 'fixtures');

async function diagnoseFixture(name: string, options: { stuckAfterMs?: number; registry?: ServiceRegistry } = {}) {
  const dir = path.join(FIXTURES, name);
  const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8'));
  const roots = fs.readdirSync(dir).filter((d) => /^s[0-9]+$/.test(d)).sort().map((d) => path.join(dir, d));
  const collected = await collect(new FixtureProcReader(roots), { samples: roots.length, intervalMs: 0 });
  return { meta, d: analyze(collected, { stuckAfterMs: options.stuckAfterMs ?? 1000, registry: options.registry }) };
}

const at = (name: string, port: number) => ({ services: [{ name, addresses: [{ host: '127.0.0.1', port }] }] });

describe('thread pools', () => {
  test('Python ThreadPoolExecutor, 3 of its threads on a silent database: the process is the culprit, named with the thread ids', async () => {
    const { meta, d } = await diagnoseFixture('rules-thread-pool');
    const { d: named } = await diagnoseFixture('rules-thread-pool', { registry: at('pg', meta.port) });
    expect(d.verdict).toBe('stuck');
    expect(d.culprit).toMatchObject({ pid: meta.app, kind: 'silent-peer', threads: [...meta.threads].sort((a: number, b: number) => a - b) });
    expect(named.culprit?.resource.service).toBe('pg');
    expect(renderText(named)).toContain(`3 threads stuck (${[...meta.threads].sort((a: number, b: number) => a - b).join(', ')}); upstream pg`);
  });

  test('control: two threads briefly in 200 ms queries, the rest idle on the queue: healthy', async () => {
    const { d } = await diagnoseFixture('rules-thread-pool-idle');
    expect(d.verdict).toBe('healthy');
  });

  test('stuck-after decides: the same pile-up younger than the threshold is in flight', async () => {
    const { d } = await diagnoseFixture('rules-thread-pool', { stuckAfterMs: 600_000 });
    expect(d.verdict).toBe('healthy');
    expect(d.chains.find((c) => c.threads)?.evidence[0]).toMatch(/queries in flight, not yet a hang/);
  });
});

describe('event loops', () => {
  test('Node server, 3 requests on a silent API while 3 clients wait: stuck on the API, 3 requests', async () => {
    const { meta, d } = await diagnoseFixture('rules-event-loop');
    const { d: named } = await diagnoseFixture('rules-event-loop', { registry: at('api', meta.port) });
    expect(d.verdict).toBe('stuck');
    expect(named.culprit).toMatchObject({ pid: meta.server, kind: 'silent-peer', requests: 3, resource: { service: 'api' } });
    expect(named.culprit?.evidence.join('\n')).toMatch(/judged from sock_diag's socket times/);
  });

  test('control: idle Node server with a pooled keep-alive connection (reply in the same jiffy): healthy', async () => {
    const { d } = await diagnoseFixture('rules-event-loop-idle');
    expect(d.verdict).toBe('healthy');
  });

  test('without sock_diag the event loop is not judged, and the evidence says what was missing', async () => {
    const dir = path.join(FIXTURES, 'rules-event-loop');
    const tmp = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'rules-no-ss-'));
    try {
      for (const s of ['s0', 's1']) {
        fs.cpSync(path.join(dir, s), path.join(tmp, s), { recursive: true });
        fs.rmSync(path.join(tmp, s, 'ss'), { force: true });
      }
      const collected = await collect(new FixtureProcReader([path.join(tmp, 's0'), path.join(tmp, 's1')]), { samples: 2, intervalMs: 0 });
      const d = analyze(collected, { stuckAfterMs: 1000 });
      expect(d.culprit).toBeNull();
      expect(d.chains.flatMap((c) => c.evidence).join('\n')).toMatch(/sock_diag's socket times could not be read/);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('UNIX-domain sockets', () => {
  test('workers on a socket whose server does not answer: silent-peer, the path as the resource', async () => {
    const { meta, d } = await diagnoseFixture('rules-unix-silent');
    expect(d.verdict).toBe('stuck');
    expect(d.culprit).toMatchObject({ kind: 'silent-peer', resource: { type: 'socket', path: meta.path, txQueue: 0, rxQueue: 0 } });
    expect([d.culprit?.pid, ...(d.culprit?.waiters ?? [])].sort()).toEqual([...meta.workers].sort());
  });

  test('parsers: /proc/net/unix (listener flag, path with spaces) and ss -xHn (peer inodes)', () => {
    const unix = parseNetUnix(
      'Num       RefCount Protocol Flags    Type St Inode Path\n' +
        '0000000000000000: 00000002 00000000 00010000 0001 01 826769 /tmp/a b.sock\n' +
        '0000000000000000: 00000003 00000000 00000000 0001 03 826770\n' +
        'garbage\n',
    );
    expect(unix).toEqual([
      { inode: 826769, type: 'stream', state: 'UNCONNECTED', listening: true, path: '/tmp/a b.sock' },
      { inode: 826770, type: 'stream', state: 'CONNECTED', listening: false },
    ]);
    const ss = parseSsUnix('u_str ESTAB 0      768      * 826770 * 826771\nu_str ESTAB 5 0 /tmp/a b.sock 826771 * 826770\nnonsense\n');
    expect(ss.get(826770)).toEqual({ peer: 826771, rxQueue: 0, txQueue: 768 });
    expect(ss.get(826771)).toEqual({ peer: 826770, rxQueue: 5, txQueue: 0 });
  });
});

describe('disk-wait', () => {
  test('readers in D state on a FUSE filesystem that never answers: disk-wait with wchan and path', async () => {
    const { meta, d } = await diagnoseFixture('rules-disk-wait');
    expect(d.verdict).toBe('stuck');
    expect(d.culprit?.kind).toBe('disk-wait');
    expect(meta.readers).toContain(d.culprit?.pid);
    expect(d.culprit?.resource.path).toMatch(/^\/tmp\/faultline-fixture\/fuse\/file-[01]$/);
    expect(d.culprit?.evidence.join('\n')).toMatch(/wchan request_wait_answer/);
  });

  test('younger than stuck-after: an I/O in flight, healthy', async () => {
    const { d } = await diagnoseFixture('rules-disk-wait', { stuckAfterMs: 600_000 });
    expect(d.verdict).toBe('healthy');
  });
});

describe('links only on evidence', () => {
  test('a lock polled in a cache (sleep between tries) behind a worker stuck on the database: polled-lock, protocol not named', async () => {
    // Unnamed, and with the cache named redis: Python workers are no phpredis session lock either way.
    const { meta, d } = await diagnoseFixture('rules-polled-lock');
    const { d: byName } = await diagnoseFixture('rules-polled-lock', { registry: { services: [{ name: 'redis', addresses: [{ host: '127.0.0.1', port: meta.cache }] }, { name: 'pg', addresses: [{ host: '127.0.0.1', port: meta.db }] }] } });
    for (const x of [d, byName]) {
      expect(x.culprit).toMatchObject({ pid: meta.holder, waiters: [...meta.waiters].sort((a: number, b: number) => a - b) });
      expect(x.chains.find((c) => c.root === meta.holder)?.links[0]?.lock.type).toBe('polled-lock');
    }
    expect(byName.chains.find((c) => c.root === meta.holder)?.links[0]?.lock.file).toBe('redis');
  });

  test('the same fixture with only its first two samples whose pollers show no sleep: no waiter is invented', async () => {
    // Reads s0 and s1 only; whether a poller slept in them varies per recording, so only what must
    // hold is checked: every linked waiter shows a short wait in one of the samples used.
    const dir = path.join(FIXTURES, 'rules-polled-lock');
    const collected = await collect(new FixtureProcReader([path.join(dir, 's0'), path.join(dir, 's1')]), { samples: 2, intervalMs: 0 });
    const d = analyze(collected, { stuckAfterMs: 1000 });
    const linked = d.chains.flatMap((c) => c.links.filter((l) => l.inferred).flatMap((l) => l.waiters));
    for (const pid of linked) {
      const waits = collected.samples.map((s) => s.processes.get(pid)?.wait);
      expect(waits.some((w) => w?.type === 'sleep' || (w?.type === 'io' && w.timeoutMs !== undefined && w.timeoutMs >= 0 && w.timeoutMs <= 1000))).toBe(true);
    }
  });

  test('Django-like control: Postgres + a Redis cache, busy workers: no inferred link, no waiter', async () => {
    const { d } = await diagnoseFixture('rules-django', {
      stuckAfterMs: 600_000,
      registry: { services: [{ name: 'redis', addresses: [{ host: '127.0.0.1', port: metaPort('rules-django', 'cache') }] }, { name: 'pg', addresses: [{ host: '127.0.0.1', port: metaPort('rules-django', 'db') }] }] },
    });
    expect(d.chains.flatMap((c) => c.links).filter((l) => l.inferred)).toEqual([]);
    expect(d.processes.filter((p) => p.role === 'waiter')).toEqual([]);
  });

  test('a row lock held by a worker stuck on an API: culprit the worker on the API, the chain continues inside the database', async () => {
    const m = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'rules-row-lock', 'meta.json'), 'utf8'));
    const { d } = await diagnoseFixture('rules-row-lock', { registry: { services: [{ name: 'pg', addresses: [{ host: '127.0.0.1', port: m.db }] }, { name: 'payments', addresses: [{ host: '127.0.0.1', port: m.api }] }] } });
    expect(d.culprit).toMatchObject({ pid: m.holder, kind: 'silent-peer', resource: { service: 'payments' }, waiters: [...m.waiters].sort((a: number, b: number) => a - b) });
    expect(d.chains.find((c) => c.root === m.holder)?.links[0]?.lock).toEqual({ type: 'waits-inside', access: 'inferred', file: 'pg' });
    expect(d.culprit?.evidence[0]).toMatch(/^the chain continues inside pg: .* pg is where they wait, not why/);
  });
});

function metaPort(name: string, key: string): number {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name, 'meta.json'), 'utf8'))[key];
}

describe('service names', () => {
  test('well-known ports are guesses, printed as such', () => {
    expect(guessService(5432)).toBe('postgres');
    expect(guessService(3306)).toBe('mysql');
    expect(guessService(6379)).toBe('redis');
    expect(guessService(12345)).toBeUndefined();
    expect(upstreamText(undefined, { ip: '10.0.0.5', port: 5432 })).toBe('10.0.0.5:5432 (5432, probably postgres)');
    expect(upstreamText(at('db', 5432), { ip: '127.0.0.1', port: 5432 })).toBe('db (127.0.0.1:5432)');
  });

  test('--service and --services values', () => {
    expect(parseServiceSpec('pg=10.0.0.5:5432')).toEqual({ name: 'pg', address: { host: '10.0.0.5', port: 5432 } });
    expect(parseHostPort('[::1]:6379')).toEqual({ host: '::1', port: 6379 });
    expect(parseServicesJson('{"pg": "127.0.0.1:5432", "redis": ["127.0.0.1:6379", "[::1]:6379"]}')).toEqual({
      services: [
        { name: 'pg', addresses: [{ host: '127.0.0.1', port: 5432 }] },
        { name: 'redis', addresses: [{ host: '127.0.0.1', port: 6379 }, { host: '::1', port: 6379 }] },
      ],
    });
    for (const bad of ['pg', '=1.2.3.4:5', 'pg=1.2.3.4', 'pg=300.1.1.1:5', 'pg=host.example:5432', 'pg=1.2.3.4:0']) {
      expect(() => parseServiceSpec(bad)).toThrow(ServiceSpecError);
    }
    for (const bad of ['[]', '"x"', '{"pg": 5432}', '{"pg": []}', '{"": "1.2.3.4:5"}', '{not json']) {
      expect(() => parseServicesJson(bad)).toThrow(ServiceSpecError);
    }
  });
});
