/**
 * Live: diagnose a hung pool inside a container through a toolbox sidecar sharing its PID and
 * network namespaces (SYS_PTRACE), the `kubectl debug` pattern, and check nothing was added to the
 * target. The target runs the toolbox image too (it has perl and util-linux's flock): a perl
 * holder flocks a session file and reads from a silent loopback peer; `flock` waiters queue up.
 *
 * Image: the toolbox image from the engine's ImageStore (built or pulled on demand).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { diagnose, ContainerProcReader } from '../../harness/diagnose';
import { runCli } from '../helpers/cli';
import { startSidecar, type Sidecar } from '../../harness/engine/sidecar';
import { newRun } from '../../harness/engine/labels';
import { connectDocker } from '../../harness/engine/docker';
import { ImageStore } from '../../harness/engine/images';

const run = promisify(execFile);
const docker = async (...args: string[]): Promise<string> => (await run('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();

const HOLDER = `
use IO::Socket::INET; use Fcntl qw(:flock);
my $srv = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0) or die;
open(my $fh, '>', '/tmp/sess_abc') or die; flock($fh, LOCK_EX) or die;
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->sockport) or die;
my $peer = $srv->accept;
open(my $out, '>', '/tmp/holder.port'); print $out $srv->sockport; close $out;
my $buf; sysread($c, $buf, 10);
`;

const identity = newRun('diag');
const name = `faultline-diag-target-${identity.runId}`;
let image: string;
let sidecar: Sidecar | undefined;
let holderPid = 0;
let port = 0;

async function toolboxImage(): Promise<string> {
  const { docker: engine } = await connectDocker();
  return new ImageStore(engine).ensure('toolbox');
}

beforeAll(async () => {
  image = await toolboxImage();
  const labels = Object.entries(identity.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await docker('run', '-d', '--name', name, ...labels, image, 'sleep', 'infinity');
  holderPid = Number(await docker('exec', name, 'sh', '-c', `perl -e '${HOLDER.replace(/'/g, `'\\''`)}' >/dev/null 2>&1 & echo $!`));
  await docker('exec', name, 'sh', '-c', 'for i in 1 2 3 4 5; do flock /tmp/sess_abc true >/dev/null 2>&1 & done');
  // Wait (bounded) until the five waiters show in /proc/locks and the holder reads its socket.
  for (let i = 0; i < 200; i++) {
    const locks = await docker('exec', name, 'cat', '/proc/locks');
    const portText = await docker('exec', name, 'sh', '-c', 'cat /tmp/holder.port 2>/dev/null || true');
    if ((locks.match(/->/g) ?? []).length >= 5 && portText) {
      port = Number(portText);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  sidecar = await startSidecar({ target: name, sharePid: true, capabilities: ['SYS_PTRACE'], labels: identity.labels, image });
}, 300_000);

afterAll(async () => {
  await sidecar?.stop().catch(() => undefined);
  await docker('rm', '-f', name).catch(() => undefined);
});

describe('diagnose inside a container through a sidecar', () => {
  test('names the holder, its five waiters, and the silent upstream (service from the registry)', async () => {
    const reader = new ContainerProcReader(sidecar as Sidecar, { name });
    const registry = { services: [{ name: 'session-store', addresses: [{ host: '127.0.0.1', port }] }] };
    const d = await diagnose({ reader, samples: 2, intervalMs: 200, registry });
    expect(d.verdict).toBe('stuck');
    expect(d.culprit?.pid).toBe(holderPid);
    expect(d.culprit?.kind).toBe('silent-peer');
    expect(d.culprit?.waiters).toHaveLength(5);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'ESTABLISHED', service: 'session-store' });
    expect(d.culprit?.holds[0]?.path).toBe('/tmp/sess_abc');
    // The sidecar's own processes (its sleep, the collector script) are never reported.
    expect(d.processes.some((p) => /faultline-diag|@@/.test(p.cmdline))).toBe(false);
    expect(d.warnings).toEqual([]);
  });

  test('faultline diagnose --container NAME --json through bin/faultline.js; nothing is left in or added to the target', async () => {
    const before = await docker('top', name, '-eo', 'pid,args');
    // The real bin, as an operator types it on a hung container: exit 1 means a culprit was named.
    const run = await runCli(['diagnose', '--container', name, '--json', '--samples', '1']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 1, stderr: '' });
    const json = JSON.parse(run.stdout) as { culprit: { pid: number; kind: string; waiters: number[] } };
    expect(json.culprit.pid).toBe(holderPid);
    expect(json.culprit.waiters).toHaveLength(5);
    const after = await docker('top', name, '-eo', 'pid,args');
    // docker top lists the container's cgroup: the CLI's sidecar is gone and added nothing here.
    expect(after).toBe(before);
    const sidecars = await docker('ps', '-a', '--filter', `label=dev.faultline.target`, '--format', '{{.Names}} {{.Label "dev.faultline.target"}}');
    const targetId = await docker('inspect', '--format', '{{.Id}}', name);
    expect(sidecars.split('\n').filter((l) => l.includes(targetId))).toHaveLength(1); // only this file's own sidecar
  });
});

/**
 * A multi-threaded holder inside a container, read through a real sidecar: a worker thread holds
 * the flock and reads a silent loopback peer while the main thread joins it (futex). The target
 * runs the python-pool example's image (it has python3) with the diagnoser's helper.py copied in.
 */
describe('diagnose a multi-threaded holder inside a container', () => {
  const threaded = newRun('diag-threads');
  const target = `faultline-diag-threads-${threaded.runId}`;
  let threadSidecar: Sidecar | undefined;
  let pid = 0;
  let tid = 0;
  let peerPort = 0;

  beforeAll(async () => {
    const { docker: engine } = await connectDocker();
    const appImage = await new ImageStore(engine).ensureContext(join(__dirname, '../../examples/python-pool'), 'python-pool');
    const labels = Object.entries(threaded.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
    await docker('run', '-d', '--name', target, ...labels, '--entrypoint', 'sleep', appImage, 'infinity');
    await docker('cp', join(__dirname, '../unit/diagnose/fixtures/helper.py'), `${target}:/tmp/helper.py`);
    pid = Number(await docker('exec', target, 'sh', '-c', 'python3 /tmp/helper.py holder /tmp/sess_t flock thread-recv >/tmp/holder.out 2>&1 & echo $!'));
    await docker('exec', target, 'sh', '-c', 'for i in 1 2 3; do python3 /tmp/helper.py waiter /tmp/sess_t flock >/dev/null 2>&1 & done');
    for (let i = 0; i < 200; i++) {
      const out = await docker('exec', target, 'cat', '/tmp/holder.out');
      const locks = await docker('exec', target, 'cat', '/proc/locks');
      tid = Number(/^tid (\d+)$/m.exec(out)?.[1] ?? 0);
      peerPort = Number(/^port (\d+)$/m.exec(out)?.[1] ?? 0);
      if (tid && peerPort && (locks.match(/->/g) ?? []).length >= 3) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    threadSidecar = await startSidecar({ target, sharePid: true, capabilities: ['SYS_PTRACE'], labels: threaded.labels, image });
  }, 300_000);

  afterAll(async () => {
    await threadSidecar?.stop().catch(() => undefined);
    await docker('rm', '-f', target).catch(() => undefined);
  });

  test('names the holder and the thread that reads the half-open socket, not the joining main thread', async () => {
    expect(tid).toBeGreaterThan(0);
    expect(tid).not.toBe(pid);
    const reader = new ContainerProcReader(threadSidecar as Sidecar, { name: target });
    const registry = { services: [{ name: 'profile', addresses: [{ host: '127.0.0.1', port: peerPort }] }] };
    const d = await diagnose({ reader, samples: 2, intervalMs: 200, registry });
    expect(d.verdict).toBe('stuck');
    expect(d.culprit).toMatchObject({ pid, tid, kind: 'silent-peer' });
    expect(d.culprit?.waiters).toHaveLength(3);
    expect(d.culprit?.syscall).toMatch(/^recvfrom\(fd \d+\)$/);
    expect(d.culprit?.resource).toMatchObject({ type: 'tcp', state: 'ESTABLISHED', service: 'profile' });
  });
});
