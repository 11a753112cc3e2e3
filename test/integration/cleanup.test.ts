import { spawn, type ChildProcess } from 'node:child_process';
import type Docker from 'dockerode';
import { cleanByLabel } from '../../harness/engine/cleanup';
import { connectDocker } from '../../harness/engine/docker';
import { ImageStore } from '../../harness/engine/images';
import { HOST_LABEL, newRun, PID_LABEL, PID_START_LABEL, processStartTicks, ROLE_LABEL, RUN_LABEL } from '../../harness/engine/labels';
import { execIn, startSidecar } from '../../harness/engine/sidecar';
import { Topology } from '../../harness/topology/topology';
import { runCli, type CliRun } from '../helpers/cli';

/**
 * Nothing leaks after a Ctrl+C (the run cleans up) or a kill -9 (the next run, or `faultline
 * clean`, removes the containers, the network and — with the web's network namespace — the
 * iptables rules a dead run left).
 */

/** Runs lost-fin (incident) through the CLI and sends `signal` once the fault is in place. */
async function interruptMidScenario(signal: NodeJS.Signals): Promise<{ pid: number; run: CliRun }> {
  let pid = 0;
  const run = await runCli(['run', 'lost-fin', '--variant', 'incident'], {
    onStderr: (chunk: string, child: ChildProcess) => {
      // The fault is in place once the observe phase reports progress.
      if (!pid && /\] observe /.test(chunk)) {
        pid = child.pid!;
        child.kill(signal);
      }
    },
  });
  return { pid, run };
}

async function killMidScenario(): Promise<number> {
  const { pid, run } = await interruptMidScenario('SIGKILL');
  expect(run.signal).toBe('SIGKILL');
  return pid;
}

describe('Ctrl+C mid-scenario', () => {
  test('the run heals, removes everything it started and exits 130', async () => {
    const { docker } = await connectDocker();
    const { pid, run } = await interruptMidScenario('SIGINT');
    expect(run.code).toBe(130);
    expect(run.stderr).toMatch(/SIGINT: stopping and cleaning up/);
    const byPid = { label: [`${PID_LABEL}=${pid}`] };
    expect(await docker.listContainers({ all: true, filters: byPid })).toHaveLength(0);
    expect(await docker.listNetworks({ filters: byPid })).toHaveLength(0);
  });
});

describe('after kill -9 mid-scenario', () => {
  test('the dead run left containers, a network and its FIN-drop rule; `faultline clean` removes them all', async () => {
    const { docker } = await connectDocker();
    const pid = await killMidScenario();
    const byPid = { label: [`${PID_LABEL}=${pid}`] };

    const left = await docker.listContainers({ all: true, filters: byPid });
    expect(left.length).toBeGreaterThanOrEqual(5);
    expect(await docker.listNetworks({ filters: byPid })).toHaveLength(1);
    // The packet fault's sidecar still holds the lost-FIN rule in the web's namespace.
    const sidecar = left.find((c) => c.Labels['dev.faultline.role'] === 'sidecar' && c.State === 'running');
    expect(sidecar).toBeDefined();
    const exec = await docker.getContainer(sidecar!.Id).exec({ Cmd: ['iptables', '-S', 'INPUT'], AttachStdout: true, AttachStderr: true });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = await new Promise<string>((res) => {
      let s = '';
      stream.on('data', (c: Buffer) => (s += c.toString('latin1')));
      stream.on('end', () => res(s));
    });
    expect(out).toMatch(/--tcp-flags FIN FIN .*faultline:/);

    const clean = await runCli(['clean', '--json']);
    expect(clean.code).toBe(0);
    const report = JSON.parse(clean.stdout);
    expect(report.containers.length).toBeGreaterThanOrEqual(left.length);
    expect(await docker.listContainers({ all: true, filters: byPid })).toHaveLength(0);
    expect(await docker.listNetworks({ filters: byPid })).toHaveLength(0);
  });

  test('the next run sweeps what a dead run left before starting its own topology', async () => {
    const { docker } = await connectDocker();
    const pid = await killMidScenario();
    const byPid = { label: [`${PID_LABEL}=${pid}`] };
    expect((await docker.listContainers({ all: true, filters: byPid })).length).toBeGreaterThanOrEqual(5);

    const topo = await new Topology().start();
    try {
      expect(await docker.listContainers({ all: true, filters: byPid })).toHaveLength(0);
      expect(await docker.listNetworks({ filters: byPid })).toHaveLength(0);
      // ...and the live run's own resources are untouched.
      const mine = await docker.listContainers({ filters: { label: [`${RUN_LABEL}=${topo.runId}`] } });
      expect(mine.length).toBe(4);
    } finally {
      await topo.stop();
    }
  });
});

/** Labels of a run whose process has exited: a real process's pid and start time, read while it ran. */
async function deadRunLabels(): Promise<Record<string, string>> {
  const child = spawn('sleep', ['30']);
  const start = processStartTicks(child.pid!)!;
  // Another host name: sweeps before boot ids (other checkouts on this engine) leave it alone,
  // while boot id + PID namespace + pid + start time say it is gone.
  const labels = { ...newRun('dead').labels, [PID_LABEL]: String(child.pid), [PID_START_LABEL]: start, [HOST_LABEL]: 'renamed-host' };
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('exit', resolve));
  return labels;
}

async function sh(docker: Docker, id: string, argv: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
  return execIn(docker, id, argv, { timeoutMs: 30_000 });
}

describe("a dead run's iptables rules in a container that outlives it (a user's)", () => {
  test('a failed removal is reported on stderr and in the JSON, the sidecar is kept, and the next sweep removes rules and sidecar', async () => {
    const { docker } = await connectDocker();
    const toolbox = await new ImageStore(docker).ensure('toolbox');
    // The user's container: owned by this live test process, so no sweep takes it; removed in finally.
    const user = await docker.createContainer({
      Image: toolbox,
      Cmd: ['sleep', 'infinity'],
      Labels: { ...newRun('user-app').labels, [ROLE_LABEL]: 'user-app' },
      HostConfig: { NetworkMode: 'none' },
    });
    let checker: { stop(): Promise<void> } | undefined;
    try {
      await user.start();
      const dead = await deadRunLabels();
      const runId = dead[RUN_LABEL];
      const sidecar = await startSidecar({ docker, image: toolbox, target: user.id, sharePid: false, capabilities: ['NET_ADMIN'], labels: dead });
      const comment = `faultline:${runId}:lost-fin(test):1`;
      const added = await sidecar.exec(['iptables', '-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '9', '-m', 'comment', '--comment', comment, '-j', 'DROP']);
      expect(added).toMatchObject({ exitCode: 0 });

      // A real reason for iptables to fail: another program holds the xtables lock in the sidecar
      // for longer than the sweep's `iptables -w 5` waits.
      const holding = sh(docker, sidecar.id, ['flock', '/run/xtables.lock', 'sleep', '12']);
      const lockHeld = async () => (await sh(docker, sidecar.id, ['flock', '-n', '/run/xtables.lock', 'true'])).exitCode !== 0;
      for (let i = 0; i < 50 && !(await lockHeld()); i++) await new Promise((r) => setTimeout(r, 100));
      expect(await lockHeld()).toBe(true);

      const clean = await runCli(['clean', '--json']);
      expect(clean.code).toBe(1);
      const report = JSON.parse(clean.stdout);
      const failure = report.iptablesFailures.find((f: { target: string }) => f.target === user.id.slice(0, 12));
      expect(failure).toMatchObject({ error: expect.stringMatching(/iptables/) });
      expect(clean.stderr).toContain(`faultline clean: iptables rules left in container ${user.id.slice(0, 12)}`);
      expect(clean.stderr.split('\n').filter((line) => line.includes(user.id.slice(0, 12)))).toHaveLength(1);
      expect(clean.stderr).not.toMatch(/\n\s+at /); // no stack trace
      // Kept, still labelled as the dead run's, so the next sweep finds it again.
      const kept = await docker.getContainer(sidecar.id).inspect();
      expect(kept.State.Running).toBe(true);
      expect(kept.Config.Labels[RUN_LABEL]).toBe(runId);

      expect(await holding).toMatchObject({ exitCode: 0 }); // the lock is free again
      const retry = await cleanByLabel(docker);
      expect(retry.iptablesFailures.filter((f) => f.target === user.id.slice(0, 12))).toEqual([]);
      expect(retry.iptablesTargets).toContain(user.id.slice(0, 12));
      expect(await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } })).toHaveLength(0);

      // The user's container runs on, without the rule: read through a sidecar of our own.
      expect((await user.inspect()).State.Running).toBe(true);
      const own = await startSidecar({ docker, image: toolbox, target: user.id, sharePid: false, capabilities: ['NET_ADMIN'] });
      checker = own;
      const rules = await own.exec(['iptables', '-w', '-S', 'INPUT']);
      expect(rules.exitCode).toBe(0);
      expect(rules.stdout).not.toContain('faultline:');
    } finally {
      await checker?.stop().catch(() => undefined);
      await user.remove({ force: true }).catch(() => undefined);
    }
  });
});
