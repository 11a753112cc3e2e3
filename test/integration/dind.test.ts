import { existsSync, readdirSync, rmdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { connectDocker } from '../../harness/engine/docker';
import { ImageStore } from '../../harness/engine/images';
import { newRun, ROLE_LABEL } from '../../harness/engine/labels';
import { cleanByLabel } from '../../harness/engine/cleanup';
import { monotonicMs, waitFor } from '../../harness/util/time';
import { runCli } from '../helpers/cli';

/**
 * faultline against a remote engine, the way a GitLab job meets `docker:dind`: a Docker engine in a
 * container (Debian's docker.io on faultline's base), reached with DOCKER_HOST=tcp://<its address>:2375,
 * and `faultline run lost-fin` through the real bin against it.
 *
 * It is the only container with such rights that faultline ever starts: no --privileged (it fails
 * on hosts whose bounding set lacks CAP_SYS_RESOURCE) but the capabilities, mounts and daemon
 * flags measured to be enough. It carries the run label and goes on any exit (afterAll, and the
 * next run's sweep after a kill -9).
 */
// The inner engine can hand its containers only capabilities it holds itself: besides what it
// needs to run at all, faultline's diagnosis sidecar asks for DAC_READ_SEARCH (not among Docker's
// defaults). A real docker:dind is --privileged and holds every one.
const DIND_CAPS = ['SYS_ADMIN', 'NET_ADMIN', 'MKNOD', 'SYS_PTRACE', 'DAC_READ_SEARCH'];
const IMAGES_LOST_FIN_NEEDS = ['base', 'toxiproxy', 'toolbox', 'web', 'storage'] as const;

const timings: Record<string, number> = {};
async function timed<T>(what: string, work: () => Promise<T>): Promise<T> {
  const t0 = monotonicMs();
  try {
    return await work();
  } finally {
    timings[what] = Math.round(monotonicMs() - t0);
  }
}

/**
 * The inner engine made /<name> in every cgroup hierarchy of the host (--cgroup-parent on the rw
 * /sys/fs/cgroup mount). Once the dind container is gone they are empty: rmdir, deepest first
 * (rmdir refuses a cgroup that still has processes, so nothing alive can be removed).
 */
function removeCgroupParent(name: string): void {
  const root = '/sys/fs/cgroup';
  const hierarchies = [root, ...readdirSync(root).map((d) => join(root, d)).filter((d) => statSync(d).isDirectory())];
  const rmTree = (dir: string) => {
    for (const child of readdirSync(dir, { withFileTypes: true })) if (child.isDirectory()) rmTree(join(dir, child.name));
    rmdirSync(dir);
  };
  for (const h of hierarchies) if (existsSync(join(h, name))) rmTree(join(h, name));
}

describe('a remote engine: Docker in a container (what docker:dind is)', () => {
  const run = newRun('fl-dind');
  let docker: Docker;
  let address: string;
  let results: Array<Record<string, any>>;
  let code: number | null;
  let stderr: string;
  let doctor: { ok: boolean; checks: Array<{ name: string; ok: boolean; detail: string }> };

  beforeAll(async () => {
    docker = (await connectDocker(process.env)).docker;
    const store = new ImageStore(docker, { env: process.env });
    const image = await timed('dind image', () => store.ensureContext(join(__dirname, '..', '..', 'containers', 'dind'), 'dind'));
    const tags = await timed('faultline images', () => store.ensureAll([...IMAGES_LOST_FIN_NEEDS]));

    // Its own network: the inner engine's unauthenticated API is reachable from this host (the
    // bridge's gateway) and from nothing else, not from every container on Docker's default bridge.
    const network = await docker.createNetwork({ Name: `faultline-${run.runId}`, Driver: 'bridge', Labels: run.labels, CheckDuplicate: true });
    const name = `faultline-${run.runId}-dind`;
    const container = await docker.createContainer({
      Image: image,
      name,
      // Appended to the image's `dockerd -H tcp://0.0.0.0:2375 --tls=false --storage-driver vfs`:
      // the inner containers' cgroups go under a parent of their own, not the outer engine's /docker.
      Cmd: [`--cgroup-parent=/${name}`],
      Labels: { ...run.labels, [ROLE_LABEL]: 'dind' },
      // /var/lib/docker must not be the container's own overlay (no overlay on overlay): an
      // anonymous volume, removed with the container (remove v: true, as the sweep does).
      Volumes: { '/var/lib/docker': {} },
      HostConfig: {
        CapAdd: DIND_CAPS,
        SecurityOpt: ['seccomp=unconfined', 'apparmor=unconfined'],
        // Without it the inner runc fails: "mkdir /sys/fs/cgroup/cpuset/docker: read-only file system".
        Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:rw'],
        NetworkMode: network.id,
      },
    });
    await container.start();
    const info = await container.inspect();
    address = Object.values(info.NetworkSettings.Networks).find((n) => n.NetworkID === network.id)!.IPAddress;
    const innerDocker = await timed('inner engine up', () =>
      waitFor(() => connectDocker({ DOCKER_HOST: `tcp://${address}:2375` }).then((c) => c.docker, () => undefined), { timeoutMs: 60_000, what: `dockerd in ${name}` }),
    );

    // `docker save` from this engine straight into the inner engine's /images/load, one stream.
    await timed('images loaded', async () => {
      // dockerode's getImages (GET /images/get?names=...) is missing from its typings.
      const getImages = (docker as unknown as { getImages(opts: { names: string[] }): Promise<NodeJS.ReadableStream> }).getImages.bind(docker);
      const saved = await getImages({ names: Object.values(tags) });
      const loading = (await innerDocker.loadImage(saved as never)) as unknown as NodeJS.ReadableStream;
      await new Promise<void>((resolve, reject) => innerDocker.modem.followProgress(loading, (err: Error | null) => (err ? reject(err) : resolve())));
    });

    const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: `tcp://${address}:2375` };
    // What the parent process decided for its own (local) engine must not leak into the child's.
    delete env.TESTCONTAINERS_HOST_OVERRIDE;
    doctor = JSON.parse((await timed('faultline doctor', () => runCli(['doctor', '--json'], { env }))).stdout);
    const cli = await timed('faultline run lost-fin --variant both', () => runCli(['run', 'lost-fin', '--variant', 'both', '--json'], { env }));
    code = cli.code;
    stderr = cli.stderr;
    results = JSON.parse(cli.stdout || '{"results":[]}').results;
    if (code !== 0) console.error(stderr.slice(-3000));
    console.log(`dind timings (ms): ${JSON.stringify(timings)}`);
  }, 900_000);

  afterAll(async () => {
    // The dind container (with its anonymous volume, and every inner container with it) and its network.
    if (docker) await cleanByLabel(docker, { runId: run.runId });
    removeCgroupParent(`faultline-${run.runId}-dind`);
  }, 120_000);

  test('lost-fin: incident hung with the half-open read on profile named, fixed responsive', () => {
    expect(code).toBe(0);
    expect(results.map((r) => [r.variant, r.verdict, r.matched])).toEqual([
      ['incident', 'hung', true],
      ['fixed', 'responsive', true],
    ]);
    const culprit = results[0].diagnosis.culprit;
    expect(culprit).toMatchObject({ kind: 'silent-peer', resource: { service: 'profile', state: 'ESTABLISHED' } });
  });

  test('says once that ports are published on the engine host', () => {
    const notices = stderr.split('\n').filter((l) => l.includes('because the engine is remote'));
    expect(notices).toEqual([expect.stringContaining(`ports are published on ${address} because the engine is remote`)]);
  });

  test('doctor tells the remote case and finds the published port answering at the engine host', () => {
    const check = (name: string) => doctor.checks.find((c) => c.name === name);
    expect(check('engine location')?.detail).toBe(`remote (DOCKER_HOST=tcp://${address}:2375): ports are published on ${address} and reached there`);
    expect(check('ports')).toMatchObject({ ok: true, detail: expect.stringMatching(new RegExp(`^a port published on ${address.replace(/\./g, '\\.')}:\\d+ answers$`)) });
    expect(check('iptables')?.ok).toBe(true);
  });

  test('the run left nothing on the inner engine', async () => {
    const inner = (await connectDocker({ DOCKER_HOST: `tcp://${address}:2375` })).docker;
    expect(await inner.listContainers({ all: true, filters: { label: ['dev.faultline.run'] } })).toEqual([]);
    expect(await inner.listNetworks({ filters: { label: ['dev.faultline.run'] } })).toEqual([]);
  });
});
