/**
 * `faultline doctor` against the real engine: every check it makes passes on a machine that runs
 * the suite (the engine, the images, iptables in a NET_ADMIN sidecar, a port published on
 * 127.0.0.1 answering), and its probe containers are gone afterwards.
 */
import { connectDocker } from '../../harness/engine/docker';
import { ROLE_LABEL } from '../../harness/engine/labels';
import { runCli } from '../helpers/cli';

test('doctor --json: every check passes and nothing is left behind', async () => {
  const run = await runCli(['doctor', '--json']);
  const report = JSON.parse(run.stdout) as { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };
  expect(report.checks.filter((c) => !c.ok)).toEqual([]);
  expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['engine', 'images', 'iptables', 'ports', 'leftovers']));
  expect(report.checks.find((c) => c.name === 'ports')?.detail).toMatch(/127\.0\.0\.1:\d+ answers/);
  expect(run.code).toBe(0);
  const { docker } = await connectDocker();
  const probes = await docker.listContainers({ all: true, filters: { label: [`${ROLE_LABEL}=doctor`] } });
  expect(probes).toEqual([]);
});
