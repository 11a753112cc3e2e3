/**
 * The verdicts and the socket kinds, live, through bin/faultline.js: processes waiting on a peer
 * with no lock between them (test/helpers/diag_peers.py, loopback or their own network namespace
 * only). A pile-up is a culprit only past --stuck-after; the socket kinds are told apart by what
 * the socket shows (sock_diag included); an unprivileged run on a lock-free pile-up is
 * inconclusive (exit 4), never healthy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, runCli } from '../helpers/cli';

const dir = mkdtempSync(join(tmpdir(), 'faultline-verdicts-'));
const helper = join(dir, 'diag_peers.py');
const children: ChildProcess[] = [];

/**
 * Starts the helper (optionally under a wrapper such as `unshare -n`); resolves with the python's
 * pid (unshare execs it in place) once it says `ready`, and the port it printed, if any.
 */
function startWithPort(args: string[], wrapper: string[] = []): Promise<{ pid: number; port: number }> {
  const argv = [...wrapper, 'python3', helper, ...args];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  children.push(child);
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c;
      if (/^ready$/m.test(out)) resolve({ pid: child.pid as number, port: Number(/^port ([0-9]+)$/m.exec(out)?.[1] ?? 0) });
    });
    child.on('exit', (code) => reject(new Error(`helper ${args.join(' ')} exited early (${code})`)));
  });
}

const start = async (args: string[], wrapper: string[] = []): Promise<number> => (await startWithPort(args, wrapper)).pid;
/** One peer that accepts and never reads or answers: the upstream the workers pile up on. */
const server = async (): Promise<string> => String((await startWithPort(['server'])).port);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const json = (stdout: string) => JSON.parse(stdout) as Record<string, any>;

beforeAll(() => copyFileSync(join(__dirname, '../helpers/diag_peers.py'), helper));

afterAll(() => {
  for (const c of children) {
    try {
      process.kill(-(c.pid as number), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('two workers waiting on a silent peer, no lock', () => {
  let pids: number[] = [];
  beforeAll(async () => {
    const port = await server();
    pids = [await start(['reader', port]), await start(['reader', port, 'keepalive'])];
  });

  test('young waits are requests in flight: healthy, exit 0; past --stuck-after: stuck, exit 1, with ages and socket times', async () => {
    const young = await runCli(['diagnose', '--pid', pids.join(','), '--json', '--interval', '100']);
    expect(young.code).toBe(0);
    const y = json(young.stdout);
    expect(y).toMatchObject({ verdict: 'healthy', culprit: null, stuckAfterMs: 5000 });
    expect(y.chains[0]).toMatchObject({ kind: 'silent-peer', culprit: false });
    expect(y.chains[0].evidence[0]).toMatch(/under --stuck-after 5 s, requests in flight, not stuck/);

    await sleep(700);
    const old = await runCli(['diagnose', '--pid', pids.join(','), '--json', '--interval', '100', '--stuck-after', '500ms']);
    expect(old.code).toBe(1);
    const d = json(old.stdout);
    expect(d.culprit).toMatchObject({ kind: 'silent-peer', waiters: [expect.any(Number)] });
    expect(d.culprit.waitMs).toBeGreaterThanOrEqual(500);
    expect(d.processes.every((p: { waitMs?: number }) => (p.waitMs ?? 0) >= 500)).toBe(true);
    expect(d.culprit.resource).toMatchObject({ unacked: 0, lastSendMs: expect.any(Number), lastReceiveMs: expect.any(Number) });
    const evidence = d.culprit.evidence.join('\n');
    expect(evidence).toMatch(/socket times \(sock_diag\): .* silent for [0-9.]+ (ms|s), since before our last send/);
    expect(evidence).toContain('consistent with a lost FIN/RST, a frozen peer, or a peer busy elsewhere');
    expect(evidence).not.toMatch(/\(lost FIN\/RST\)/);
  });

  test('the text: no "blocks" for a pile-up without a lock, and "no timer" only where no timer runs', async () => {
    const run = await runCli(['diagnose', '--pid', pids.join(','), '--interval', '100', '--stuck-after', '200ms']);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/STUCK: silent-peer — pid [0-9]+ \(python3\) and 1 other wait on the same upstream \(no lock between them\); upstream 127\.0\.0\.1:[0-9]+; waiting /);
    expect(run.stdout).not.toContain('blocks');
    // Each reader alone (--pid one of them) is a lone worker past stuck-after: its own socket's words.
    const plain = json((await runCli(['diagnose', '--pid', String(pids[0]), '--json', '--stuck-after', '200ms'])).stdout);
    expect(plain.culprit.evidence.join('\n')).toContain('no timer runs on it (no keepalive)');
    const keepalive = json((await runCli(['diagnose', '--pid', String(pids[1]), '--json', '--stuck-after', '200ms'])).stdout);
    expect(keepalive.culprit.resource.timer).toBe('keepalive');
    expect(keepalive.culprit.evidence.join('\n')).toContain('keepalive runs on it (timer keepalive)');
    expect(keepalive.culprit.evidence.join('\n')).not.toContain('no timer');
  });

  test('without ptrace access (as nobody): inconclusive, exit 4, saying what it could not read and what would let it see', async () => {
    const child = spawn('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, 'diagnose', '--pid', pids.join(','), '--stuck-after', '200ms'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, HOME: dir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect({ code, stderr }).toEqual({ code: 4, stderr: '' });
    expect(stdout).toContain('INCONCLUSIVE: what decides could not be read');
    expect(stdout).toMatch(/\/proc\/PID\/syscall is unreadable \(permission denied\) for pid/);
    expect(stdout).toMatch(/run as root .*CAP_SYS_PTRACE/);
    expect(stdout).not.toContain('HEALTHY');
  });
});

test('a peer that does not read (zero window): peer-not-reading', async () => {
  const port = await server();
  const pids = [await start(['writer', port]), await start(['writer', port])];
  await sleep(1500);
  const run = await runCli(['diagnose', '--pid', pids.join(','), '--json', '--interval', '200', '--stuck-after', '1s']);
  expect(run.code).toBe(1);
  const d = json(run.stdout);
  expect(d.culprit).toMatchObject({ kind: 'peer-not-reading', resource: { timer: 'zero-window-probe' } });
  expect(d.culprit.evidence.join('\n')).toContain("zero-window probes (timer zero-window-probe): the peer's kernel acknowledges but its receive window is closed");
});

test('a peer whose host does not acknowledge (packets dropped, in its own netns): unreachable-peer, socket times read through nsenter', async () => {
  const pid = await start(['unreachable'], ['unshare', '-n']);
  await sleep(1500);
  const run = await runCli(['diagnose', '--pid', String(pid), '--json', '--interval', '200', '--stuck-after', '1s']);
  expect(run.code).toBe(1);
  const d = json(run.stdout);
  expect(d.culprit).toMatchObject({ pid, kind: 'unreachable-peer', resource: { timer: 'retransmit', txQueue: 90 } });
  expect(d.culprit.resource.retransmits).toBeGreaterThan(0);
  expect(d.culprit.resource.unacked).toBeGreaterThan(0);
  const evidence = d.culprit.evidence.join('\n');
  expect(evidence).toMatch(/our bytes are not acknowledged \(tx_queue 90 bytes, [0-9]+ segments? in flight, timer retransmit, [0-9]+ retransmits?\)/);
  expect(evidence).toMatch(/socket times \(sock_diag\): .*retransmits? on this connection/);
  expect(d.warnings.join('\n')).not.toContain('socket times (sock_diag, ss -tinHe) unavailable');
});
