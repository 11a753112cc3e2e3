import { connectDocker } from '../../harness/engine/docker';
import { ImageStore } from '../../harness/engine/images';
import { newRun, RUN_LABEL } from '../../harness/engine/labels';
import { serviceFor } from '../../harness/diagnose/services';
import { httpCall } from '../../harness/probes/http';
import { Topology, type StartedTopology } from '../../harness/topology/topology';

describe('topology', () => {
  let topo: StartedTopology | undefined;
  afterAll(async () => {
    await topo?.stop();
  });

  test('starts labelled, published on 127.0.0.1 only, every upstream behind a named proxy; stops clean and twice', async () => {
    const { docker } = await connectDocker();
    topo = await new Topology().withStorageNodes(2).withMaxWorkers(4).start();
    const runId = topo.runId;

    const containers = await docker.listContainers({ filters: { label: [`${RUN_LABEL}=${runId}`] } });
    expect(containers.map((c) => c.Labels['dev.faultline.role']).sort()).toEqual(['profile', 'storage-1', 'storage-2', 'toxiproxy', 'web']);
    for (const c of containers) {
      for (const p of c.Ports.filter((x) => x.PublicPort)) expect(p.IP).toBe('127.0.0.1');
    }
    const networks = await docker.listNetworks({ filters: { label: [`${RUN_LABEL}=${runId}`] } });
    expect(networks).toHaveLength(1);

    // The web reaches each upstream through its proxy; the registry maps them.
    const proxies = await topo.toxiproxy.client.getAll();
    expect(Object.keys(proxies).sort()).toEqual(['profile', 'storage-1', 'storage-2']);
    expect(serviceFor(topo.registry, { ip: topo.profile.proxy.listen.host, port: 10000 })).toBe('profile');
    expect(topo.registry.services.find((s) => s.name === 'storage-2')?.proxy?.listen.port).toBe(10002);

    const health = await httpCall({ url: `${topo.web.url}/health.php`, deadlineMs: 5000 });
    expect(health).toMatchObject({ outcome: 'ok', status: 200 });
    const profile = await httpCall({ url: `${topo.web.url}/profile.php?user=alice`, deadlineMs: 5000 });
    expect(profile.status).toBe(200);
    expect(JSON.parse(profile.body)).toMatchObject({ ok: true, user: 'alice' });

    await topo.stop();
    await topo.stop(); // idempotent
    expect(await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${runId}`] } })).toHaveLength(0);
    expect(await docker.listNetworks({ filters: { label: [`${RUN_LABEL}=${runId}`] } })).toHaveLength(0);
  });

  test('a start that fails halfway removes what it started and rethrows the original error', async () => {
    const { docker } = await connectDocker();
    const run = newRun();
    const started: string[] = [];
    const watcher = setInterval(async () => {
      for (const c of await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run.runId}`] } })) started.push(c.Id);
    }, 100);
    // A web image that never serves HTTP (the toolbox just sleeps): the start times out after the
    // network, Toxiproxy and the backends exist, with the web still waiting to be ready.
    const toolbox = await new ImageStore(docker).ensure('toolbox');
    await expect(new Topology().withStartTimeout(8000).withWebImage(toolbox).start({ run })).rejects.toMatchObject({
      code: 'FAULTLINE_TIMEOUT',
      message: expect.stringContaining('topology start exceeded 8000 ms'),
    });
    clearInterval(watcher);
    expect(new Set(started).size).toBeGreaterThanOrEqual(2);
    expect(await docker.listContainers({ all: true, filters: { label: [`${RUN_LABEL}=${run.runId}`] } })).toHaveLength(0);
    expect(await docker.listNetworks({ filters: { label: [`${RUN_LABEL}=${run.runId}`] } })).toHaveLength(0);
  });
});
