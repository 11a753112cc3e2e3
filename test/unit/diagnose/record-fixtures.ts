/**
 * Records the unit tests' /proc fixture trees from real local processes (loopback only):
 *
 *   npx tsx test/unit/diagnose/record-fixtures.ts [scenario ...]   (then derives the rest)
 *   npx tsx test/unit/diagnose/record-fixtures.ts --derive          (only re-derive)
 *
 * Each scenario starts helpers (fixtures/helper.py), waits until they block, then copies what the
 * diagnoser reads into fixtures/<scenario>/s0 and s1 (two samples 300 ms apart): /proc/locks and
 * net/tcp filtered to the recorded processes, per-PID stat/status/syscall/wchan/cmdline/io/sched,
 * fd links as `fd.links`, fdinfo of files and epoll fds, ns/net as a file, the pollfd array of a
 * process in poll as `mem.hex`, and for a multi-threaded process every thread's
 * task/TID/stat/status/syscall/wchan/sched. meta.json names the roles (holder, waiters …) by PID.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const FIXTURES = path.join(__dirname, 'fixtures');
const HELPER = path.join(FIXTURES, 'helper.py');
const children: ChildProcess[] = [];
let tmp = '';

function spawnHelper(args: string[]): Promise<{ pid: number; lines: string[] }> {
  const child = spawn('python3', [HELPER, ...args], { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const l of parts) {
        lines.push(l);
        if (l === 'ready') resolve({ pid: child.pid as number, lines });
      }
    });
    child.on('exit', (code) => reject(new Error(`helper exited ${code}`)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function waiters(): Set<number> {
  const out = new Set<number>();
  for (const line of fs.readFileSync('/proc/locks', 'utf8').split('\n')) {
    const m = /->\s*\S+\s+\S+\s+\S+\s+([0-9]+)/.exec(line);
    if (m) out.add(Number(m[1]));
  }
  return out;
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !cond(); i++) await sleep(25);
  if (!cond()) throw new Error('scenario did not settle');
}

function readOr(p: string): string | undefined {
  try {
    return fs.readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

function children0(pid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(name)) continue;
    const stat = readOr(`/proc/${name}/stat`);
    if (stat && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
  }
  return out;
}

function filterStatus(text: string): string {
  // Only the fields the diagnoser reads keep the fixtures small and readable.
  return `${text
    .split('\n')
    .filter((l) => /^(Name|State|Tgid|PPid|Uid|NSpid|voluntary_ctxt_switches|nonvoluntary_ctxt_switches):/.test(l))
    .join('\n')}\n`;
}

function filterSched(text: string): string {
  return `${text.split('\n').filter((l) => l.startsWith('se.exec_start')).join('\n')}\n`;
}

/** poll/ppoll: keep the pollfd array (`0xADDRESS hex` lines) so the fixture exercises /proc/PID/mem. */
function pollfdLine(pid: number, syscall: string | undefined): string | undefined {
  const sc = (syscall ?? '').trim().split(' ');
  if (sc[0] !== '7' && sc[0] !== '271') return undefined;
  const addr = BigInt(sc[1] as string);
  const n = Number(BigInt(sc[2] as string)) * 8;
  const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
  const buf = Buffer.alloc(n);
  fs.readSync(fd, buf, 0, n, addr);
  fs.closeSync(fd);
  return `0x${addr.toString(16)} ${buf.toString('hex')}`;
}

function recordSample(out: string, pids: number[]): void {
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'arch'), 'x86_64\n');
  fs.writeFileSync(path.join(out, 'uptime'), readOr('/proc/uptime') ?? '');
  const set = new Set(pids);
  // /proc/locks: keep the groups that involve a recorded process.
  const lines = (readOr('/proc/locks') ?? '').split('\n');
  const kept: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line.includes('->') || line.trim() === '') continue;
    const group = [line];
    for (let j = i + 1; j < lines.length && (lines[j] as string).includes('->'); j++) group.push(lines[j] as string);
    if (group.some((g) => set.has(Number(/(?:->\s*)?\S+\s+\S+\s+\S+\s+(-?[0-9]+)\s+\S+:\S+:/.exec(g.replace(/^\s*[0-9]+:\s*/, ''))?.[1])))) {
      kept.push(...group);
    }
  }
  fs.writeFileSync(path.join(out, 'locks'), kept.length ? `${kept.join('\n')}\n` : '');
  const inodes = new Set<string>();
  for (const pid of pids) {
    const dir = path.join(out, String(pid));
    fs.mkdirSync(path.join(dir, 'fdinfo'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'ns'), { recursive: true });
    fs.mkdirSync(path.join(dir, 'net'), { recursive: true });
    for (const f of ['stat', 'status', 'syscall', 'wchan', 'cmdline', 'io']) {
      let text = readOr(`/proc/${pid}/${f}`);
      // status: only the fields the diagnoser reads keep the fixtures small and readable.
      if (text !== undefined && f === 'status') text = filterStatus(text);
      if (text !== undefined) fs.writeFileSync(path.join(dir, f), text);
    }
    const sched = readOr(`/proc/${pid}/sched`);
    if (sched) fs.writeFileSync(path.join(dir, 'sched'), filterSched(sched));
    // Threads of a multi-threaded process (stat field 20 > 1): what the diagnoser reads per thread.
    const mem: string[] = [];
    const stat = readOr(`/proc/${pid}/stat`) ?? '';
    const threads = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[17]);
    if (threads > 1) {
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const tdir = path.join(dir, 'task', tid);
        fs.mkdirSync(tdir, { recursive: true });
        for (const f of ['stat', 'status', 'syscall', 'wchan', 'sched']) {
          let text = readOr(`/proc/${pid}/task/${tid}/${f}`);
          if (text === undefined) continue;
          if (f === 'status') text = filterStatus(text);
          if (f === 'sched') text = filterSched(text);
          fs.writeFileSync(path.join(tdir, f), text);
        }
        if (tid !== String(pid)) {
          const line = pollfdLine(pid, readOr(`/proc/${pid}/task/${tid}/syscall`));
          if (line) mem.push(line);
        }
      }
    }
    fs.writeFileSync(path.join(dir, 'ns', 'net'), `${fs.readlinkSync(`/proc/${pid}/ns/net`)}\n`);
    const links: string[] = [];
    for (const name of fs.readdirSync(`/proc/${pid}/fd`)) {
      let target: string;
      try {
        target = fs.readlinkSync(`/proc/${pid}/fd/${name}`);
      } catch {
        continue;
      }
      // Paths outside the scenario (the recorder's stdio) are anonymised.
      if (target.startsWith('/') && !target.startsWith(tmp)) target = '/dev/null';
      links.push(`${name} -> ${target.startsWith(tmp) ? target.replace(tmp, '/tmp/faultline-fixture') : target}`);
      const inode = /^socket:\[([0-9]+)\]$/.exec(target)?.[1];
      if (inode) inodes.add(inode);
      if (target.startsWith('/tmp/faultline-fixture') || target.startsWith(tmp) || target === 'anon_inode:[eventpoll]') {
        const info = readOr(`/proc/${pid}/fdinfo/${name}`);
        if (info) fs.writeFileSync(path.join(dir, 'fdinfo', name), info);
      }
    }
    fs.writeFileSync(path.join(dir, 'fd.links'), `${links.join('\n')}\n`);
    const main = pollfdLine(pid, readOr(`/proc/${pid}/syscall`));
    if (main) mem.unshift(main);
    if (mem.length > 0) fs.writeFileSync(path.join(dir, 'mem.hex'), `${mem.join('\n')}\n`);
  }
  // net/tcp of the recorded processes' sockets (written under each recorded PID).
  for (const file of ['tcp', 'tcp6']) {
    const text = readOr(`/proc/${pids[0]}/net/${file}`) ?? '';
    const [header, ...rows] = text.split('\n');
    const mine = rows.filter((r) => inodes.has(r.trim().split(/\s+/)[9] ?? ''));
    for (const pid of pids) fs.writeFileSync(path.join(out, String(pid), 'net', file), `${[header, ...mine].join('\n')}\n`);
  }
  recordRuleFacts(out, pids, inodes);
  // Scrub the recorder's temp dir from command lines and lock paths.
  for (const pid of pids) {
    const p = path.join(out, String(pid), 'cmdline');
    if (fs.existsSync(p)) fs.writeFileSync(p, fs.readFileSync(p, 'utf8').split(tmp).join('/tmp/faultline-fixture'));
  }
}

async function record(name: string, pids: number[], meta: Record<string, unknown>, intervalMs = 300, samples = 2): Promise<void> {
  const dir = path.join(FIXTURES, name);
  fs.rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < samples; i++) {
    if (i > 0) await sleep(intervalMs);
    recordSample(path.join(dir, `s${i}`), pids);
  }
  fs.writeFileSync(path.join(dir, 'meta.json'), `${JSON.stringify({ ...meta, intervalMs }, null, 2)}\n`);
  console.log(`recorded ${name}: ${pids.length} processes`);
}

// --- diag-rules: what the rules beyond pre-forked pools read (harness/diagnose/{thread-pool,
// event-loop,unix-sockets,disk-wait,convoy}.ts), and their live programs (test/helpers/stacks/) ---

const STACKS = path.join(__dirname, '../../helpers/stacks');

/**
 * net/unix rows of the recorded sockets and their peers, `ss -xHn` and `ss -tinHe` lines of the
 * recorded sockets (`ss-x` with its netns, `ss`), and the path a D-state process opens (mem.hex).
 */
function recordRuleFacts(out: string, pids: number[], inodes: Set<string>): void {
  const run = (args: string[]): string => {
    try {
      return execFileSync('ss', args, { encoding: 'utf8' });
    } catch {
      return '';
    }
  };
  const ssx = run(['-xHn'])
    .split('\n')
    .filter((l) => l.trim().split(/\s+/).some((w) => inodes.has(w)));
  const peers = new Set(ssx.flatMap((l) => l.trim().split(/\s+/).filter((w) => /^[0-9]+$/.test(w))));
  if (ssx.length > 0) fs.writeFileSync(path.join(out, 'ss-x'), `# netns ${fs.readlinkSync('/proc/self/ns/net')}\n${ssx.join('\n')}\n`);
  const unix = (readOr(`/proc/${pids[0]}/net/unix`) ?? '').split('\n');
  const rows = [unix[0] ?? '', ...unix.slice(1).filter((r) => inodes.has(r.trim().split(/\s+/)[6] ?? '') || peers.has(r.trim().split(/\s+/)[6] ?? ''))];
  const scrub = (t: string): string => t.split(tmp).join('/tmp/faultline-fixture');
  for (const pid of pids) fs.writeFileSync(path.join(out, String(pid), 'net', 'unix'), scrub(`${rows.join('\n')}\n`));
  if (ssx.length > 0) fs.writeFileSync(path.join(out, 'ss-x'), scrub(fs.readFileSync(path.join(out, 'ss-x'), 'utf8')));
  const tcp = run(['-tinHe']).split('\n');
  const kept: string[] = [];
  for (let i = 0; i < tcp.length; i++) {
    const head = tcp[i] as string;
    if (/^\s/.test(head) || head === '') continue;
    const info = /^\s/.test(tcp[i + 1] ?? '') ? (tcp[i + 1] as string) : undefined;
    if (inodes.has(/ino:([0-9]+)/.exec(head)?.[1] ?? '')) kept.push(head, ...(info ? [info] : []));
  }
  if (kept.length > 0) fs.writeFileSync(path.join(out, 'ss'), `${kept.join('\n')}\n`);
  for (const pid of pids) {
    const stat = readOr(`/proc/${pid}/stat`) ?? '';
    const sc = (readOr(`/proc/${pid}/syscall`) ?? '').trim().split(' ');
    if (stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'D' || sc[0] !== '257') continue;
    const addr = BigInt(sc[2] as string);
    const fd = fs.openSync(`/proc/${pid}/mem`, 'r');
    const buf = Buffer.alloc(256);
    fs.readSync(fd, buf, 0, 256, addr);
    fs.closeSync(fd);
    const text = scrub(buf.subarray(0, buf.indexOf(0)).toString('utf8'));
    const bytes = Buffer.concat([Buffer.from(text), Buffer.alloc(1)]);
    fs.appendFileSync(path.join(out, String(pid), 'mem.hex'), `0x${addr.toString(16)} ${bytes.toString('hex')}\n`);
  }
}

function spawnStack(cmd: string, args: string[]): Promise<{ pid: number; lines: string[] }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  return new Promise((resolve, reject) => {
    const lines: string[] = [];
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const parts = buf.split('\n');
      buf = parts.pop() ?? '';
      for (const l of parts) {
        lines.push(l);
        if (l === 'ready') resolve({ pid: child.pid as number, lines });
      }
    });
    child.on('exit', (code) => reject(new Error(`${cmd} exited ${code}`)));
  });
}
const pyStack = (file: string, ...args: string[]) => spawnStack('python3', [path.join(STACKS, file), ...args]);
const portOf = (s: { lines: string[] }) => Number(s.lines.find((l) => l.startsWith('port '))?.slice(5));

const RULE_SCENARIOS: Record<string, () => Promise<void>> = {
  'rules-thread-pool': async () => {
    const db = await pyStack('upstream.py', 'silent');
    const app = await pyStack('py_pool.py', String(portOf(db)), '6', '3');
    await sleep(1300);
    const threads = app.lines.filter((l) => l.startsWith('tid ')).map((l) => Number(l.slice(4)));
    await record('rules-thread-pool', [app.pid], { app: app.pid, threads, port: portOf(db) });
  },
  'rules-thread-pool-idle': async () => {
    const db = await pyStack('upstream.py', 'answer', '200');
    const app = await pyStack('py_pool.py', String(portOf(db)), '6', '2');
    await sleep(1300);
    await record('rules-thread-pool-idle', [app.pid], { app: app.pid, port: portOf(db) });
  },
  'rules-unix-silent': async () => {
    const sock = path.join(tmp, 'svc.sock');
    await pyStack('unix_upstream.py', sock, 'silent');
    const ws = [(await pyStack('py_worker.py', 'unix-query', sock)).pid, (await pyStack('py_worker.py', 'unix-query', sock)).pid];
    await sleep(1300);
    await record('rules-unix-silent', ws, { workers: ws, path: '/tmp/faultline-fixture/svc.sock' });
  },
  'rules-event-loop': async () => {
    const api = await pyStack('upstream.py', 'silent');
    const server = await spawnStack('node', [path.join(STACKS, 'node_server.js'), String(portOf(api))]);
    await spawnStack('node', [path.join(STACKS, 'node_clients.js'), String(portOf(server)), '3']);
    await sleep(1300);
    await record('rules-event-loop', [server.pid], { server: server.pid, port: portOf(api), requests: 3 });
  },
  'rules-event-loop-idle': async () => {
    const api = await pyStack('upstream.py', 'http', '0');
    const server = await spawnStack('node', [path.join(STACKS, 'node_server.js'), String(portOf(api))]);
    await spawnStack('node', [path.join(STACKS, 'node_clients.js'), String(portOf(server)), '1', 'once']);
    await sleep(1300);
    await record('rules-event-loop-idle', [server.pid], { server: server.pid });
  },
  'rules-row-lock': async () => {
    const [db, api] = [await pyStack('upstream.py', 'answer', '5'), await pyStack('upstream.py', 'silent')];
    const holder = await pyStack('py_worker.py', 'row-holder', String(portOf(db)), String(portOf(api)));
    const ws: number[] = [];
    for (let i = 0; i < 2; i++) ws.push((await pyStack('py_worker.py', 'row-waiter', String(portOf(db)))).pid);
    await sleep(1300);
    await record('rules-row-lock', [holder.pid, ...ws], { holder: holder.pid, waiters: ws, db: portOf(db), api: portOf(api) });
  },
  'rules-polled-lock': async () => {
    const [cache, db] = [await pyStack('upstream.py', 'answer', '1'), await pyStack('upstream.py', 'answer', '20')];
    const holder = await pyStack('py_worker.py', 'lock-holder', String(portOf(cache)), String(portOf(db)));
    const ws: number[] = [];
    for (let i = 0; i < 2; i++) ws.push((await pyStack('py_worker.py', 'lock-poller', String(portOf(cache)))).pid);
    await sleep(400);
    await record('rules-polled-lock', [holder.pid, ...ws], { holder: holder.pid, waiters: ws, cache: portOf(cache), db: portOf(db) }, 150, 4);
  },
  'rules-django': async () => {
    const [cache, db] = [await pyStack('upstream.py', 'answer', '2'), await pyStack('upstream.py', 'answer', '20')];
    const ws = [(await pyStack('py_worker.py', 'slow-query', String(portOf(cache)), String(portOf(db)))).pid];
    for (let i = 0; i < 3; i++) ws.push((await pyStack('py_worker.py', 'django', String(portOf(cache)), String(portOf(db)))).pid);
    await sleep(500);
    await record('rules-django', ws, { workers: ws, cache: portOf(cache), db: portOf(db) }, 250);
  },
  'rules-disk-wait': async () => {
    const mount = path.join(tmp, 'fuse');
    fs.mkdirSync(mount);
    const server = await pyStack('stalled_fuse.py', mount);
    try {
      const rs = [(await pyStack('fuse_reader.py', path.join(mount, 'file-0'))).pid, (await pyStack('fuse_reader.py', path.join(mount, 'file-1'))).pid];
      await sleep(200);
      for (const pid of rs) process.kill(pid, 'SIGUSR1');
      await until(() => rs.every((pid) => (readOr(`/proc/${pid}/stat`) ?? '').split(') ')[1]?.startsWith('D') ?? false));
      await sleep(1200);
      await record('rules-disk-wait', rs, { readers: rs }, 200);
    } finally {
      process.kill(server.pid, 'SIGTERM');
      await sleep(300);
      try {
        execFileSync('umount', ['-l', mount], { stdio: 'ignore' });
      } catch {
        /* the server unmounted it */
      }
    }
  },
};
// --- end diag-rules ---

async function convoy(name: string, kind: string, mode: string, n: number, settleMs = 500): Promise<void> {
  const lock = path.join(tmp, `${name}.lock`);
  const holder = await spawnHelper(['holder', lock, kind, mode]);
  const ws: number[] = [];
  for (let i = 0; i < n; i++) ws.push((await spawnHelper(['waiter', lock, kind])).pid);
  await until(() => ws.every((w) => waiters().has(w)));
  await sleep(settleMs);
  const port = Number(holder.lines.find((l) => l.startsWith('port '))?.split(' ')[1]) || undefined;
  await record(name, [holder.pid, ...ws], { holder: holder.pid, waiters: ws, port, lockFile: lock.replace(tmp, '/tmp/faultline-fixture') });
}

/** The syscall number a thread is in, `running`, or undefined when gone. */
function threadSyscall(pid: number, tid: number): string | undefined {
  return readOr(`/proc/${pid}/task/${tid}/syscall`)?.trim().split(' ')[0];
}

/** A multi-threaded holder: a worker thread holds the lock and reads a silent peer, or spins. */
async function threadedConvoy(name: string, kind: string, mode: string, n: number, threadIn: string[]): Promise<void> {
  const lock = path.join(tmp, `${name}.lock`);
  const holder = await spawnHelper(['holder', lock, kind, mode]);
  const tid = Number(holder.lines.find((l) => l.startsWith('tid '))?.split(' ')[1]);
  const ws: number[] = [];
  for (let i = 0; i < n; i++) ws.push((await spawnHelper(['waiter', lock, kind])).pid);
  await until(() => ws.every((w) => waiters().has(w)) && threadIn.includes(threadSyscall(holder.pid, tid) ?? ''));
  await sleep(500);
  const port = Number(holder.lines.find((l) => l.startsWith('port '))?.split(' ')[1]) || undefined;
  await record(name, [holder.pid, ...ws], { holder: holder.pid, tid, waiters: ws, port, lockFile: lock.replace(tmp, '/tmp/faultline-fixture') });
}

const SCENARIOS: Record<string, () => Promise<void>> = {
  'half-open-read-flock': () => convoy('half-open-read-flock', 'flock', 'recv', 3),
  'half-open-read-poll-fcntl': () => convoy('half-open-read-poll-fcntl', 'fcntl', 'recv-poll', 2),
  'stalled-write': () => convoy('stalled-write', 'flock', 'send', 2, 1500),
  'busy-loop': () => convoy('busy-loop', 'fcntl', 'spin', 2),
  'slow-holder': () => convoy('slow-holder', 'flock', 'sleep', 2),
  'slow-peer': () => convoy('slow-peer', 'flock', 'trickle', 2),
  'connect-stall': () => convoy('connect-stall', 'flock', 'connect', 2),
  // recvfrom is 45 on x86_64 (the recorder runs there; see deriveAarch64 for the other numbers).
  'threaded-half-open-read': () => threadedConvoy('threaded-half-open-read', 'flock', 'thread-recv', 3, ['45']),
  'threaded-busy-loop': () => threadedConvoy('threaded-busy-loop', 'flock', 'thread-spin', 2, ['running']),
  'two-level': async () => {
    const b = path.join(tmp, 'b.lock');
    const a = path.join(tmp, 'a.lock');
    const root = await spawnHelper(['holder', b, 'flock', 'recv']);
    await sleep(300);
    const middle = await spawnHelper(['holder', a, 'flock', `then-lock:${b}`]);
    const outer = [(await spawnHelper(['waiter', a, 'flock'])).pid, (await spawnHelper(['waiter', a, 'flock'])).pid];
    await until(() => [middle.pid, ...outer].every((w) => waiters().has(w)));
    await sleep(300);
    await record('two-level', [root.pid, middle.pid, ...outer], { root: root.pid, middle: middle.pid, outer });
  },
  'lock-cycle': async () => {
    const a = path.join(tmp, 'x.lock');
    const b = path.join(tmp, 'y.lock');
    const x = await spawnHelper(['holder', a, 'flock', `after-1s-lock:${b}`]);
    const y = await spawnHelper(['holder', b, 'flock', `after-1s-lock:${a}`]);
    const outsider = (await spawnHelper(['waiter', a, 'flock'])).pid;
    await until(() => [x.pid, y.pid, outsider].every((w) => waiters().has(w)));
    await record('lock-cycle', [x.pid, y.pid, outsider], { x: x.pid, y: y.pid, outsider });
  },
  'idle-pool': async () => {
    const leader = await spawnHelper(['idle', path.join(tmp, 'accept.mutex'), '4']);
    let pool: number[] = [];
    await until(() => {
      pool = [leader.pid, ...children0(leader.pid)];
      return pool.length === 4 && pool.filter((p) => waiters().has(p)).length === 3;
    });
    await sleep(300);
    await record('idle-pool', pool, { pool });
  },
};

// ---------------------------------------------------------------------------------------------
// Derived fixtures: recorded trees rewritten to cover what this machine cannot record.

function copyTree(from: string, to: string): void {
  fs.rmSync(to, { recursive: true, force: true });
  fs.cpSync(from, to, { recursive: true });
}

function samplePidDirs(dir: string): Array<{ sample: string; pid: string }> {
  const out: Array<{ sample: string; pid: string }> = [];
  for (const sample of ['s0', 's1']) {
    for (const name of fs.readdirSync(path.join(dir, sample))) {
      if (/^[0-9]+$/.test(name)) out.push({ sample: path.join(dir, sample), pid: name });
    }
  }
  return out;
}

function rewriteSyscall(file: string, map: Record<string, string>): void {
  const text = fs.readFileSync(file, 'utf8');
  const [nr, ...rest] = text.trim().split(' ');
  if (nr && map[nr]) fs.writeFileSync(file, `${[map[nr], ...rest].join(' ')}\n`);
}

/** aarch64 numbers: x86_64 flock 73 -> 32, fcntl 72 -> 25, recvfrom 45 -> 207, poll 7 -> ppoll 73. */
function deriveAarch64(from: string, to: string): void {
  copyTree(path.join(FIXTURES, from), path.join(FIXTURES, to));
  for (const { sample, pid } of samplePidDirs(path.join(FIXTURES, to))) {
    fs.writeFileSync(path.join(sample, 'arch'), 'aarch64\n');
    const file = path.join(sample, pid, 'syscall');
    const words = fs.readFileSync(file, 'utf8').trim().split(' ');
    if (words[0] === '7') {
      // ppoll(fds, nfds, tsp = NULL, sigmask, sigsetsize): NULL timespec waits forever.
      words[0] = '73';
      words[3] = '0x0';
      fs.writeFileSync(file, `${words.join(' ')}\n`);
    } else rewriteSyscall(file, { '73': '32', '72': '25', '45': '207', '44': '206' });
  }
}

/** What an unprivileged reader sees: no syscall, fd, fdinfo, io, mem, ns links. */
function deriveUnprivileged(from: string, to: string): void {
  copyTree(path.join(FIXTURES, from), path.join(FIXTURES, to));
  for (const { sample, pid } of samplePidDirs(path.join(FIXTURES, to))) {
    const dir = path.join(sample, pid);
    for (const f of ['syscall', 'wchan', 'io', 'fd.links', 'mem.hex']) fs.rmSync(path.join(dir, f), { force: true });
    fs.rmSync(path.join(dir, 'fdinfo'), { recursive: true, force: true });
    fs.rmSync(path.join(dir, 'ns'), { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'ns'));
    for (const f of ['syscall', 'wchan', 'io', 'fd', 'mem', 'ns/net']) fs.writeFileSync(path.join(dir, `${f}.error`), 'EACCES\n');
  }
}

/** Truncated, garbled and vanished files: the diagnosis must survive and still name the holder. */
function deriveMalformed(from: string, to: string): void {
  copyTree(path.join(FIXTURES, from), path.join(FIXTURES, to));
  const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, to, 'meta.json'), 'utf8')) as { holder: number; waiters: number[] };
  const [w1, w2, w3] = meta.waiters.map(String);
  for (const s of ['s0', 's1']) {
    const sample = path.join(FIXTURES, to, s);
    const put = (rel: string, text: string) => fs.writeFileSync(path.join(sample, rel), text);
    const stat = fs.readFileSync(path.join(sample, String(w1), 'stat'), 'utf8');
    put(`${w1}/stat`, stat.slice(0, stat.indexOf(')') + 5)); // truncated after the state
    put(`${w1}/status`, 'Name:\tpy\u0000thon\nvoluntary_ctxt_switches:\tlots\nUid:');
    put(`${w2}/syscall`, 'zz 0xZZ not-a-number\n');
    put(`${w2}/cmdline`, 'python3\u0000-c\u0000\u00ff\ufffd odd) (name\n\u0000');
    put(`${w2}/net/tcp`, '  sl  local_address\n   0: 0100007F:9E3F 0100\ngarbage line\n');
    const holderTcp = fs.readFileSync(path.join(sample, String(meta.holder), 'net', 'tcp'), 'utf8');
    put(`${meta.holder}/net/tcp`, `${holderTcp}  99: 0100007F:ZZZZ 00000000:0000 0A 0000\n  100:\n`);
    fs.appendFileSync(path.join(sample, 'locks'), '7: FLOCK  ADVISORY  WRI\nnot a lock line\n8: -> POSIX ADVISORY WRITE x 00:00:1 0 EOF\n');
    put(`${meta.holder}/sched`, 'se.exec_start : not-a-number\n');
    if (s === 's1') fs.rmSync(path.join(sample, String(w3)), { recursive: true, force: true }); // exited mid-scan
  }
}

/** /proc/PID/mem denied (e.g. YAMA ptrace_scope): the poll's fd comes from the process's sockets. */
function deriveMemDenied(from: string, to: string): void {
  copyTree(path.join(FIXTURES, from), path.join(FIXTURES, to));
  for (const { sample, pid } of samplePidDirs(path.join(FIXTURES, to))) {
    if (fs.existsSync(path.join(sample, pid, 'mem.hex'))) fs.writeFileSync(path.join(sample, pid, 'mem.error'), 'EPERM\n');
  }
}

/** The threads of a recorded process: `task/TID` directories of one sample's PID directory. */
function taskDirs(sample: string, pid: string): string[] {
  const dir = path.join(sample, pid, 'task');
  return fs.existsSync(dir) ? fs.readdirSync(dir).map((tid) => path.join(dir, tid)) : [];
}

/**
 * A multi-threaded holder seen without ptrace access: as deriveUnprivileged, plus every thread's
 * syscall denied, and wchan reading "0" (what the kernel prints instead of failing).
 */
function deriveThreadedUnprivileged(from: string, to: string): void {
  deriveUnprivileged(from, to);
  for (const { sample, pid } of samplePidDirs(path.join(FIXTURES, to))) {
    fs.rmSync(path.join(sample, pid, 'wchan.error'), { force: true });
    fs.writeFileSync(path.join(sample, pid, 'wchan'), '0');
    for (const tdir of taskDirs(sample, pid)) {
      fs.rmSync(path.join(tdir, 'syscall'), { force: true });
      fs.writeFileSync(path.join(tdir, 'syscall.error'), 'EACCES\n');
      fs.writeFileSync(path.join(tdir, 'wchan'), '0');
    }
  }
}

/** Threads exiting mid-scan and garbled thread files: the right thread is still found. */
function deriveThreadChurn(from: string, to: string): void {
  copyTree(path.join(FIXTURES, from), path.join(FIXTURES, to));
  const meta = JSON.parse(fs.readFileSync(path.join(FIXTURES, to, 'meta.json'), 'utf8')) as { holder: number; tid: number };
  const holder = String(meta.holder);
  for (const s of ['s0', 's1']) {
    const sample = path.join(FIXTURES, to, s);
    const task = path.join(sample, holder, 'task');
    const others = fs.readdirSync(task).filter((t) => t !== holder && t !== String(meta.tid));
    // Listed in task/, gone before its stat was read (ESRCH), or between its stat and syscall.
    fs.mkdirSync(path.join(task, '999990'), { recursive: true });
    fs.writeFileSync(path.join(task, '999990', 'stat.error'), 'ESRCH\n');
    fs.cpSync(path.join(task, others[0] as string), path.join(task, '999991'), { recursive: true });
    fs.rmSync(path.join(task, '999991', 'syscall'));
    fs.writeFileSync(path.join(task, '999991', 'syscall.error'), 'ENOENT\n');
    // A garbled syscall line and a truncated stat.
    fs.cpSync(path.join(task, others[0] as string), path.join(task, '999992'), { recursive: true });
    fs.writeFileSync(path.join(task, '999992', 'syscall'), 'zz 0xZZ\n');
    fs.mkdirSync(path.join(task, '999993'));
    fs.writeFileSync(path.join(task, '999993', 'stat'), '999993 (pyth');
    // Between the samples the sleeping thread exited: its directory is listed, its files are gone.
    if (s === 's1') {
      for (const f of fs.readdirSync(path.join(task, others[0] as string))) fs.rmSync(path.join(task, others[0] as string, f));
    }
  }
}

function derive(): void {
  deriveAarch64('half-open-read-poll-fcntl', 'aarch64-half-open-read-ppoll-fcntl');
  deriveAarch64('half-open-read-flock', 'aarch64-half-open-read-flock');
  deriveAarch64('stalled-write', 'aarch64-stalled-write');
  deriveUnprivileged('half-open-read-flock', 'unprivileged');
  deriveMalformed('half-open-read-flock', 'malformed');
  deriveMemDenied('half-open-read-poll-fcntl', 'mem-denied');
  deriveThreadedUnprivileged('threaded-half-open-read', 'threaded-unprivileged');
  deriveThreadChurn('threaded-half-open-read', 'threaded-churn');
  console.log('derived aarch64, unprivileged, malformed, mem-denied and threaded fixtures');
}

async function main(): Promise<void> {
  if (process.argv[2] === '--derive') {
    derive();
    return;
  }
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faultline-rec-'));
  const names = process.argv.slice(2).length ? process.argv.slice(2) : [...Object.keys(SCENARIOS), ...Object.keys(RULE_SCENARIOS)];
  try {
    for (const name of names) {
      const run = SCENARIOS[name] ?? RULE_SCENARIOS[name];
      if (!run) throw new Error(`unknown scenario ${name}`);
      await run();
      for (const c of children.splice(0)) {
        try {
          process.kill(-(c.pid as number), 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  } finally {
    for (const c of children) {
      try {
        process.kill(-(c.pid as number), 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  derive();
}

void main();
