/**
 * The registry path of the image store, for real: where users' CI has a registry, base and
 * Toxiproxy are pulled, not built. This machine has none, so the test runs one: the
 * go-containerregistry registry (built from its Go module, listening on loopback only), holding
 * copies of faultline's own base and Toxiproxy images. The store is pointed at it through
 * FAULTLINE_BASE_IMAGE / FAULTLINE_TOXIPROXY_IMAGE, the override users give for an internal
 * mirror. Also: a reference the registry does not have falls back to the offline build.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { connectDocker } from '../../harness/engine/docker';
import { ImageStore, spawnChecked, type ImageProgress } from '../../harness/engine/images';
import { newRun } from '../../harness/engine/labels';
import { waitFor } from '../../harness/util/time';

const REGISTRY_MODULE = 'github.com/google/go-containerregistry/cmd/registry@v0.22.1';

let docker: Docker;
let registry: ChildProcess | undefined;
let host: string; // 127.0.0.1:<port>
let binDir: string;
const imagesToRemove: string[] = [];

function follow(stream: NodeJS.ReadableStream): Promise<void> {
  return new Promise((res, rej) =>
    docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => {
      const failed = err?.message ?? out.find((o) => o.error)?.error;
      if (failed) rej(new Error(failed));
      else res();
    }),
  );
}

/** Starts the registry on a free loopback port (it listens on localhost only); resolves host:port. */
function startRegistry(bin: string): Promise<string> {
  return new Promise((res, rej) => {
    registry = spawn(bin, ['-port', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    registry.stderr!.on('data', (c) => {
      err += c;
      const m = /serving on port (\d+)/.exec(err);
      if (m) res(`127.0.0.1:${m[1]}`);
    });
    registry.on('error', rej);
    registry.on('close', (code) => rej(new Error(`registry exited (${code}): ${err.slice(-500)}`)));
  });
}

/** Copies a local image into the test registry under `path:tag`; the local alias is removed. */
async function pushAs(localTag: string, remote: string): Promise<string> {
  const ref = `${host}/${remote}`;
  const [repo, tag] = [ref.slice(0, ref.lastIndexOf(':')), ref.slice(ref.lastIndexOf(':') + 1)];
  imagesToRemove.push(ref);
  await docker.getImage(localTag).tag({ repo, tag });
  await follow(await docker.getImage(ref).push({ authconfig: {} }));
  await docker.getImage(ref).remove({ noprune: true });
  return ref;
}

async function removeIfPresent(tag: string): Promise<void> {
  await docker.getImage(tag).remove({ force: true }).catch(() => undefined);
}

beforeAll(async () => {
  docker = (await connectDocker()).docker;
  // faultline's own images are what the registry serves: make sure they exist.
  await new ImageStore(docker).ensureAll(['base', 'toxiproxy']);
  binDir = mkdtempSync(join(tmpdir(), 'faultline-registry-'));
  await spawnChecked('go', ['install', REGISTRY_MODULE], { env: { ...process.env, CGO_ENABLED: '0', GOBIN: binDir } });
  host = await startRegistry(join(binDir, 'registry'));
  await waitFor(async () => (await fetch(`http://${host}/v2/`).catch(() => undefined))?.ok ? true : undefined, { timeoutMs: 20_000, what: 'test registry' });
}, 240_000);

afterAll(async () => {
  registry?.kill('SIGKILL');
  rmSync(binDir, { recursive: true, force: true });
  for (const tag of imagesToRemove) await removeIfPresent(tag);
});

test('base and toxiproxy are pulled from a registry that has them, not built', async () => {
  const local = new ImageStore(docker);
  const env = {
    ...process.env,
    FAULTLINE_BASE_IMAGE: await pushAs(local.tagFor('base'), 'library/debian:bookworm-slim'),
    FAULTLINE_TOXIPROXY_IMAGE: await pushAs(local.tagFor('toxiproxy'), 'shopify/toxiproxy:2.12.0'),
  };
  const steps: ImageProgress[] = [];
  const store = new ImageStore(docker, { env, onProgress: (p) => steps.push(p) });
  // Another source is another image: the override is part of the tag.
  expect(store.tagFor('base')).not.toBe(local.tagFor('base'));
  expect(store.tagFor('toxiproxy')).not.toBe(local.tagFor('toxiproxy'));
  imagesToRemove.push(store.tagFor('base'), store.tagFor('toxiproxy'));
  for (const tag of [store.tagFor('base'), store.tagFor('toxiproxy')]) await removeIfPresent(tag);

  await store.ensureAll(['base', 'toxiproxy']);

  const listed = (await store.list()).filter((i) => i.name === 'base' || i.name === 'toxiproxy');
  expect(listed.map((i) => [i.name, i.present, i.source])).toEqual([
    ['base', true, 'pulled'],
    ['toxiproxy', true, 'pulled'],
  ]);
  const said = steps.map((s) => `${s.image}: ${s.step}`);
  expect(said).toContain(`base: pulling ${env.FAULTLINE_BASE_IMAGE}`);
  expect(said).toContain(`toxiproxy: pulling ${env.FAULTLINE_TOXIPROXY_IMAGE}`);
  expect(said.filter((s) => /pull failed|debootstrap|go install/.test(s))).toEqual([]);
  // The pulled Toxiproxy is a working one.
  const c = await docker.createContainer({
    Image: store.tagFor('toxiproxy'),
    Labels: newRun('test-registry').labels,
    ExposedPorts: { '8474/tcp': {} },
    HostConfig: { PortBindings: { '8474/tcp': [{ HostIp: '127.0.0.1', HostPort: '' }] } },
  });
  try {
    await c.start();
    const port = (await c.inspect()).NetworkSettings.Ports['8474/tcp']?.[0]?.HostPort;
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/version`).catch(() => undefined))?.ok ? true : undefined, { timeoutMs: 10_000, what: 'pulled toxiproxy' });
  } finally {
    await c.remove({ force: true });
  }
}, 120_000);

test('a reference the registry does not have falls back to the offline build', async () => {
  const env = { ...process.env, FAULTLINE_TOXIPROXY_IMAGE: `${host}/shopify/toxiproxy:does-not-exist` };
  const steps: ImageProgress[] = [];
  const store = new ImageStore(docker, { env, onProgress: (p) => steps.push(p) });
  const tag = store.tagFor('toxiproxy');
  imagesToRemove.push(tag);
  await removeIfPresent(tag);

  await store.ensure('toxiproxy');

  const said = steps.map((s) => s.step);
  const failed = said.findIndex((s) => s.startsWith('pull failed'));
  expect(failed).toBeGreaterThan(0);
  expect(said.slice(failed)).toContainEqual(expect.stringMatching(/^go install github\.com\/Shopify\/toxiproxy/));
  expect((await store.list()).find((i) => i.name === 'toxiproxy')?.source).toBe('built-offline');
}, 180_000);
