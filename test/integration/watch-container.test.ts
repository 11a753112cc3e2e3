/**
 * `faultline watch --container NAME` through bin/faultline.js on a hung pool inside a container
 * (the toolbox image: a perl holder flocks a session file and reads a silent loopback peer,
 * `flock` waiters queue behind it, as diagnose-container.test.ts builds it). The watcher opens an
 * incident naming the container, keeps running across a restart of the container (its sidecar's
 * namespaces go with it: a new sidecar is started, the restarted pool is healthy, the log says
 * recovered), and SIGTERM removes its sidecar: no container labelled for the target remains.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BIN } from '../helpers/cli';
import { waitFor } from '../helpers/pool';
import { newRun } from '../../harness/engine/labels';
import { connectDocker } from '../../harness/engine/docker';
import { ImageStore } from '../../harness/engine/images';

jest.setTimeout(300_000);

const run = promisify(execFile);
const docker = async (...args: string[]): Promise<string> => (await run('docker', args, { maxBuffer: 16 << 20 })).stdout.trim();

const HOLDER = `
use IO::Socket::INET; use Fcntl qw(:flock);
my $srv = IO::Socket::INET->new(Listen => 5, LocalAddr => '127.0.0.1', LocalPort => 0) or die;
open(my $fh, '>', '/tmp/sess_abc') or die; flock($fh, LOCK_EX) or die;
my $c = IO::Socket::INET->new(PeerAddr => '127.0.0.1', PeerPort => $srv->sockport) or die;
my $peer = $srv->accept;
my $buf; sysread($c, $buf, 10);
`;

const identity = newRun('watch');
const name = `faultline-watch-target-${identity.runId}`;
const work = mkdtempSync(join(tmpdir(), 'faultline-watch-container-'));

async function sidecarsOf(targetId: string): Promise<string[]> {
  const out = await docker('ps', '-a', '--filter', `label=dev.faultline.target=${targetId}`, '--format', '{{.ID}} {{.Label "dev.faultline.run"}}');
  return out === '' ? [] : out.split('\n');
}

beforeAll(async () => {
  const { docker: engine } = await connectDocker();
  const image = await new ImageStore(engine).ensure('toolbox');
  const labels = Object.entries(identity.labels).flatMap(([k, v]) => ['--label', `${k}=${v}`]);
  await docker('run', '-d', '--name', name, ...labels, '--cap-drop', 'ALL', '--network', 'none', image, 'sleep', 'infinity');
  await docker('exec', name, 'sh', '-c', `perl -e '${HOLDER.replace(/'/g, `'\\''`)}' >/dev/null 2>&1 &`);
  await docker('exec', name, 'sh', '-c', 'sleep 0.3; for i in 1 2 3; do flock /tmp/sess_abc true >/dev/null 2>&1 & done');
  await waitFor('3 waiters', async () => ((await docker('exec', name, 'cat', '/proc/locks')).match(/->/g) ?? []).length >= 3);
}, 300_000);

afterAll(async () => {
  await docker('rm', '-f', name).catch(() => undefined);
  rmSync(work, { recursive: true, force: true });
});

test('an incident in a container, a restart survived (recovered, a new sidecar), SIGTERM removes the sidecar', async () => {
  const targetId = await docker('inspect', '--format', '{{.Id}}', name);
  const out = join(work, 'incidents');
  const child = spawn(process.execPath, [BIN, 'watch', '--container', name, '--interval', '1', '--stuck-for', '2', '--listen', '127.0.0.1:0', '--out', out], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => (stderr += c));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  try {
    await waitFor('the incident', () => /watch: stuck for .*; snapshot /.test(stderr), 120_000);
    const [file] = readdirSync(out).filter((f) => f.endsWith('.json'));
    const snapshot = JSON.parse(readFileSync(join(out, file!), 'utf8'));
    expect(snapshot).toMatchObject({ target: { container: name }, diagnosis: { verdict: 'stuck', culprit: { command: 'perl', waiters: expect.any(Array) } } });
    expect(snapshot.diagnosis.culprit.waiters).toHaveLength(3);
    const [first] = await sidecarsOf(targetId);
    expect(first).toMatch(/^\w+ \S+$/); // one sidecar, labelled dev.faultline.run
    expect((await sidecarsOf(targetId)).length).toBe(1);

    // The container restarts: its pool is gone (sleep alone), the sidecar's namespaces too.
    await docker('restart', '-t', '0', name);
    await waitFor('recovered', () => /watch: recovered after /.test(stderr), 120_000);
    const now = await sidecarsOf(targetId);
    expect(now).toHaveLength(1);
    expect(now[0]!.split(' ')[0]).not.toBe(first!.split(' ')[0]); // a new sidecar for the restarted container
  } finally {
    child.kill('SIGTERM');
  }
  expect(await exited).toBe(130);
  expect(stderr).toMatch(/watch: stopped/);
  expect(await sidecarsOf(targetId)).toEqual([]);
});
