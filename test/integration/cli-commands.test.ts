/**
 * The CLI paths no other test runs through bin/faultline.js: list, images, doctor and clean in
 * text and --json modes, `images build`, `run --parallel`, and `clean --all`.
 */
import { spawnSync } from 'node:child_process';
import { connectDocker } from '../../harness/engine/docker';
import { IMAGE_NAMES, ImageStore } from '../../harness/engine/images';
import { newRun, PID_LABEL } from '../../harness/engine/labels';
import { runCli } from '../helpers/cli';

/** A labelled `sleep` container named after its run (clean reports names); `labels` say whose run it is. */
async function labelledContainer(labels: Record<string, string>): Promise<string> {
  const { docker } = await connectDocker();
  const image = await new ImageStore(docker).ensure('toolbox');
  const name = `faultline-${labels['dev.faultline.run']}`;
  const c = await docker.createContainer({ name, Image: image, Cmd: ['sleep', 'infinity'], Labels: labels });
  await c.start();
  return name;
}

async function exists(name: string): Promise<boolean> {
  const { docker } = await connectDocker();
  return docker
    .getContainer(name)
    .inspect()
    .then(() => true)
    .catch(() => false);
}

test('list and list --json name every bundled scenario', async () => {
  const [text, json] = await Promise.all([runCli(['list']), runCli(['list', '--json'])]);
  expect([text.code, json.code]).toEqual([0, 0]);
  const names = (JSON.parse(json.stdout) as { scenarios: Array<{ name: string }> }).scenarios.map((s) => s.name);
  expect(names).toEqual(expect.arrayContaining(['lost-fin', 'stalled-write', 'slow-node', 'partition-heal']));
  for (const name of names) expect(text.stdout).toMatch(new RegExp(`^${name}$`, 'm'));
});

test('images, images --json and images build: every image present, with its tag and source', async () => {
  const build = await runCli(['images', 'build']);
  expect({ code: build.code, stderr: build.code === 0 ? '' : build.stderr }).toEqual({ code: 0, stderr: '' });
  const [text, json] = await Promise.all([runCli(['images']), runCli(['images', '--json'])]);
  expect([text.code, json.code]).toEqual([0, 0]);
  const images = (JSON.parse(json.stdout) as { images: Array<{ name: string; tag: string; present: boolean; source: string }> }).images;
  expect(images.map((i) => i.name)).toEqual(IMAGE_NAMES);
  for (const i of images) {
    expect(i).toMatchObject({ present: true, tag: expect.stringMatching(new RegExp(`^faultline/${i.name}:[0-9a-f]{12}$`)) });
    expect(text.stdout).toContain(i.tag);
  }
});

test('doctor (text): one line per check, all ok, exit 0', async () => {
  const run = await runCli(['doctor']);
  expect(run.code).toBe(0);
  for (const check of ['engine', 'images', 'iptables', 'ports', 'leftovers']) expect(run.stdout).toMatch(new RegExp(`^ok\\s+${check}: `, 'm'));
});

test('clean (text) removes a dead run\'s container and names it; a live run\'s stays', async () => {
  // A pid that is gone: a process that has exited.
  const gone = spawnSync('true').pid;
  const dead = newRun('cli-clean-dead');
  // Its own labels (boot id, PID namespace, start time) with the pid of a process that has exited.
  const deadLabels: Record<string, string> = { ...dead.labels, [PID_LABEL]: String(gone) };
  const live = newRun('cli-clean-live');
  const [deadId, liveId] = await Promise.all([labelledContainer(deadLabels), labelledContainer(live.labels)]);
  try {
    const run = await runCli(['clean']);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(deadId);
    expect(await exists(deadId)).toBe(false);
    expect(await exists(liveId)).toBe(true);
  } finally {
    const { docker } = await connectDocker();
    await Promise.all([deadId, liveId].map((id) => docker.getContainer(id).remove({ force: true }).catch(() => undefined)));
  }
});

test('run --parallel 2 --json: both variants on their own topologies at once, each as expected', async () => {
  const run = await runCli(['run', 'reset-mid-transfer', '--variant', 'both', '--parallel', '2', '--json']);
  const results = (JSON.parse(run.stdout) as { results: Array<{ variant: string; matched: boolean; runId: string }> }).results;
  expect(results.map((r) => `${r.variant}:${r.matched}`)).toEqual(['incident:true', 'fixed:true']);
  expect(new Set(results.map((r) => r.runId)).size).toBe(2);
  expect(run.code).toBe(0);
});

/**
 * `clean --all` removes every faultline resource on the engine, other runs' included: it runs
 * only in CI (CI=true, as .ci/run sets), where the integration files run one at a time and
 * nothing else uses the engine. Never on a shared engine.
 */
const ownEngine = process.env.CI === 'true' ? test : test.skip;
ownEngine('clean --all --json removes a live run\'s container too (CI only)', async () => {
  const live = newRun('cli-clean-all');
  const id = await labelledContainer(live.labels);
  const kept = await runCli(['clean', '--json']);
  expect(kept.code).toBe(0);
  expect(await exists(id)).toBe(true);
  const all = await runCli(['clean', '--all', '--json']);
  expect(all.code).toBe(0);
  expect((JSON.parse(all.stdout) as { containers: string[] }).containers).toContain(id);
  expect(await exists(id)).toBe(false);
});
