import type { ChildProcess } from 'node:child_process';
import { connectDocker } from '../../harness/engine/docker';
import { PID_LABEL, RUN_LABEL } from '../../harness/engine/labels';
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
