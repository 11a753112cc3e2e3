/**
 * Live tests of the diagnoser on the modern PHP stack's processes, on this host (loopback only):
 * a real redis-server, real PHP 8.2 processes with phpredis session locking on, real mysqlnd (PDO)
 * reading from a "mariadb" that accepts and never answers, and a real PHP-FPM pool (pm = static)
 * behind a real nginx. Needs redis-server, php8.2-cli, php8.2-redis, php8.2-mysql, php8.2-fpm and
 * nginx-light (scripts/ensure-host-tools.sh installs them).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import {
  collect,
  decodeSyscall,
  diagnose,
  LocalProcReader,
  normalizeArch,
  poolOccupancy,
  renderText,
  type Diagnosis,
  type ServiceRegistry,
} from '../../harness/diagnose';

jest.setTimeout(90_000);

const arch = normalizeArch(process.arch) ?? 'x86_64';
let dir: string;
let children: ChildProcess[] = [];
const sockets: net.Socket[] = [];
const servers: net.Server[] = [];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-fpm-'));
});

afterEach(async () => {
  for (const child of children) {
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
  children = [];
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(() => r(undefined)))));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** A detached process (its own group, killed whole after each test), with its output collected. */
function start(cmd: string, args: string[]): { child: ChildProcess; out: () => string } {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return { child, out: () => out };
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function syscallOf(pid: number): string {
  try {
    const line = fs.readFileSync(`/proc/${pid}/syscall`, 'utf8').trim();
    return line === 'running' ? 'running' : decodeSyscall(arch, Number(line.split(' ')[0])).name;
  } catch {
    return 'gone';
  }
}

function ctxtSwitches(pid: number): number {
  const m = /voluntary_ctxt_switches:\s*([0-9]+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m?.[1] ?? 0);
}

function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1', () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
  });
}

async function startRedis(): Promise<{ pid: number; port: number }> {
  const port = await freePort();
  const { child, out } = start('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir]);
  await waitFor(`redis-server on ${port} (${out()})`, () => connects(port));
  return { pid: child.pid as number, port };
}

/** A "mariadb" that accepts connections and never sends a byte: a peer gone silent. */
async function silentListener(): Promise<number> {
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as net.AddressInfo).port;
}

/**
 * One request of the incident code: session_start() with the Redis save handler and phpredis
 * session locking on (retry forever, 20 ms between tries: phpredis' own defaults are 100 tries of
 * 20 ms, Debian's 5.3.7 ships 10 of 2 ms), then, holding the lock, a query through PDO/mysqlnd
 * with no read timeout.
 */
const REQUEST_PHP = `<?php
session_id('convoy');
session_start();
echo "locked\\n";
$db = getenv('DB_PORT');
if ($db !== false && $db !== '') {
  $pdo = new PDO("mysql:host=127.0.0.1;port=$db;dbname=app", 'app', 'app', [PDO::ATTR_TIMEOUT => 3600]);
}
echo "done\\n";
`;

function phpRequest(redisPort: number, dbPort: number | undefined): { child: ChildProcess; out: () => string } {
  const script = path.join(dir, 'request.php');
  if (!fs.existsSync(script)) fs.writeFileSync(script, REQUEST_PHP);
  const ini = [
    'session.save_handler=redis',
    `session.save_path=tcp://127.0.0.1:${redisPort}`,
    'redis.session.locking_enabled=1',
    'redis.session.lock_retries=-1',
    'redis.session.lock_wait_time=20000',
    'max_execution_time=0',
  ].flatMap((d) => ['-d', d]);
  const env = { ...process.env, DB_PORT: dbPort === undefined ? '' : String(dbPort) };
  const child = spawn('php8.2', [...ini, script], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env });
  children.push(child);
  let out = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (out += c.toString()));
  return { child, out: () => out };
}

const describeText = (d: Diagnosis): string => `\n${renderText(d)}`;

describe('PHP + phpredis session locking + mysqlnd, live', () => {
  test('db-failover-half-open: the lock holder reads a silent mariadb; the others poll Redis for its session lock (inferred convoy)', async () => {
    const redis = await startRedis();
    const dbPort = await silentListener();
    const holder = phpRequest(redis.port, dbPort);
    const holderPid = holder.child.pid as number;
    await waitFor('the holder to take the session lock', () => holder.out().includes('locked'));
    await waitFor('the holder to block reading mariadb', () => ['poll', 'ppoll', 'recvfrom', 'read'].includes(syscallOf(holderPid)));
    const waiters = [0, 1, 2].map(() => phpRequest(redis.port, dbPort));
    const waiterPids = waiters.map((w) => w.child.pid as number).sort((a, b) => a - b);
    // Each waiter has connected to Redis and is retrying SET NX (its context switches keep rising).
    const before = waiterPids.map(ctxtSwitches);
    await waitFor('the waiters to poll for the lock', () => waiterPids.every((pid, i) => ctxtSwitches(pid) > (before[i] as number) + 5));
    expect(waiters.every((w) => !w.out().includes('locked'))).toBe(true);

    const registry: ServiceRegistry = {
      services: [
        { name: 'mariadb', addresses: [{ host: '127.0.0.1', port: dbPort }] },
        { name: 'redis', addresses: [{ host: 'localhost', port: redis.port }] },
      ],
    };
    const d = await diagnose({ pids: [holderPid, ...waiterPids], registry, intervalMs: 300 });
    const text = describeText(d);
    expect(d.verdict).toBe('stuck');
    expect(d.culprit).toMatchObject({ pid: holderPid, kind: 'silent-peer', resource: { type: 'tcp', service: 'mariadb' } });
    expect([...(d.culprit?.waiters ?? [])].sort((a, b) => a - b)).toEqual(waiterPids);
    const chain = d.chains.find((c) => c.root === holderPid);
    expect(chain?.links[0]).toMatchObject({ lock: { type: 'redis-session-lock', access: 'polled', file: 'redis' }, holder: holderPid });
    expect(chain?.links[0]?.inferred).toMatch(/no kernel lock ties them/);
    expect(d.culprit?.evidence.join('\n')).toMatch(/inferred convoy on redis-session-lock in redis/);
    expect(text).toContain('upstream  mariadb');
    // Every waiter is reported in the convoy's link, none as a culprit of its own.
    expect(d.chains.filter((c) => c.culprit)).toHaveLength(1);
    for (const pid of waiterPids) expect(d.processes.find((p) => p.pid === pid)?.role).toBe('waiter');
  });

  test('redis-stall: Redis frozen (SIGSTOP, as docker pause freezes it): every worker blocked reading redis, named, not unknown', async () => {
    const redis = await startRedis();
    process.kill(redis.pid, 'SIGSTOP');
    try {
      const workers = [0, 1, 2].map(() => phpRequest(redis.port, undefined));
      const pids = workers.map((w) => w.child.pid as number).sort((a, b) => a - b);
      await waitFor('the workers to block on redis', () => pids.every((pid) => ['poll', 'ppoll', 'recvfrom', 'read'].includes(syscallOf(pid))));
      const registry: ServiceRegistry = { services: [{ name: 'redis', addresses: [{ host: '127.0.0.1', port: redis.port }] }] };
      // A pile-up without a lock is stuck only past --stuck-after: young, it is requests in flight.
      const young = await diagnose({ pids, registry, intervalMs: 100 });
      expect(young.verdict).toBe('healthy');
      await new Promise((r) => setTimeout(r, 800));
      const d = await diagnose({ pids, registry, intervalMs: 300, stuckAfterMs: 700 });
      expect(d.verdict).toBe('stuck');
      expect(d.culprit?.kind).toBe('silent-peer');
      expect(d.culprit?.waitMs).toBeGreaterThanOrEqual(700);
      expect(d.culprit?.resource.service).toBe('redis');
      expect([d.culprit?.pid, ...(d.culprit?.waiters ?? [])].sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(pids);
      expect(d.culprit?.evidence.join('\n')).toContain(`3 workers wait on the same upstream redis (127.0.0.1:${redis.port})`);
    } finally {
      process.kill(redis.pid, 'SIGCONT');
    }
  });
});

describe('PHP-FPM pool behind nginx, live', () => {
  test('idle `php-fpm: pool www` workers in accept are idle; the master and nginx are not pool workers', async () => {
    const fpmPort = await freePort();
    const webPort = await freePort();
    const fpmConf = path.join(dir, 'php-fpm.conf');
    fs.writeFileSync(
      fpmConf,
      [
        '[global]',
        `pid = ${dir}/php-fpm.pid`,
        `error_log = ${dir}/php-fpm.log`,
        'daemonize = no',
        '[www]',
        `listen = 127.0.0.1:${fpmPort}`,
        'pm = static',
        'pm.max_children = 3',
        '',
      ].join('\n'),
    );
    const nginxConf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(
      nginxConf,
      [
        'worker_processes 2;',
        `pid ${dir}/nginx.pid;`,
        `error_log ${dir}/nginx-error.log;`,
        'daemon off;',
        'events { worker_connections 64; }',
        'http {',
        `  access_log off; client_body_temp_path ${dir}/nginx-body; fastcgi_temp_path ${dir}/nginx-fcgi;`,
        `  proxy_temp_path ${dir}/nginx-proxy; uwsgi_temp_path ${dir}/nginx-uwsgi; scgi_temp_path ${dir}/nginx-scgi;`,
        `  server { listen 127.0.0.1:${webPort}; location / { fastcgi_pass 127.0.0.1:${fpmPort}; include /etc/nginx/fastcgi_params; } }`,
        '}',
        '',
      ].join('\n'),
    );
    const fpm = start('php-fpm8.2', ['--nodaemonize', '--allow-to-run-as-root', '-n', '-y', fpmConf]);
    const nginx = start('nginx', ['-c', nginxConf, '-p', dir]);
    await waitFor(`php-fpm on ${fpmPort} (${fpm.out()})`, () => connects(fpmPort));
    await waitFor(`nginx on ${webPort} (${nginx.out()})`, () => connects(webPort));
    const childrenOf = (ppid: number): number[] =>
      fs
        .readdirSync('/proc')
        .filter((f) => /^[0-9]+$/.test(f))
        .map(Number)
        .filter((pid) => {
          try {
            const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
            return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid;
          } catch {
            return false;
          }
        });
    const fpmMaster = fpm.child.pid as number;
    await waitFor('3 FPM workers in accept', () => {
      const kids = childrenOf(fpmMaster);
      return kids.length === 3 && kids.every((pid) => ['accept', 'accept4', 'poll', 'epoll_wait'].includes(syscallOf(pid)));
    });
    const fpmWorkers = childrenOf(fpmMaster).sort((a, b) => a - b);
    const nginxWorkers = childrenOf(nginx.child.pid as number);
    expect(nginxWorkers).toHaveLength(2);
    expect(fs.readFileSync(`/proc/${fpmWorkers[0]}/cmdline`, 'utf8')).toContain('php-fpm: pool www');

    // The pool probe's count (the same functions harness/probes/pool.ts uses, over the local /proc).
    const pids = [fpmMaster, ...fpmWorkers, nginx.child.pid as number, ...nginxWorkers];
    const collected = await collect(new LocalProcReader(), { pids, samples: 1, intervalMs: 0 });
    const occupancy = poolOccupancy(collected.samples[0]!, 'php-fpm8.2');
    expect(occupancy.size).toBe(3);
    expect(occupancy.busy).toBe(0);
    expect(occupancy.workers.map((w) => w.pid)).toEqual(fpmWorkers);

    // The diagnosis agrees: the FPM workers are idle, nothing is stuck, nginx is no pool worker.
    const d = await diagnose({ pids, intervalMs: 200 });
    expect(d.verdict).toBe('healthy');
    for (const pid of fpmWorkers) expect(d.processes.find((p) => p.pid === pid)?.role).toBe('idle');
    expect(d.chains.filter((c) => c.culprit)).toEqual([]);
  });
});
