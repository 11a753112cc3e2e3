import { connect } from 'node:net';
import { killNode, pauseNode, restartNode, stopNode } from '../../harness/faults/node';
import { droppedRst, lostFin, netAdminSidecar, partition, randomLoss, synBlackhole } from '../../harness/faults/packet';
import { proxyDown, toxic } from '../../harness/faults/proxy';
import { httpCall } from '../../harness/probes/http';
import { Topology, type StartedTopology } from '../../harness/topology/topology';

/**
 * The fault catalogue against a real topology: each fault has the effect it claims, and its heal
 * undoes it (rules gone, toxics gone, the node answering again).
 */
let topo: StartedTopology;
beforeAll(async () => {
  topo = await new Topology().withStorageNodes(1).start();
});
afterAll(async () => {
  await topo?.stop();
});

const profile = () => httpCall({ url: `${topo.web.url}/profile.php?user=alice&variant=fixed&timeout_ms=1500&deadline_ms=2000`, deadlineMs: 5000 });

/** PING the node on its published port (looked up again: a restarted node may get a new one). */
async function ping(service: string, timeoutMs = 1500): Promise<boolean> {
  const info = await topo.docker.getContainer(topo.service(service).container.getId()).inspect();
  const port = Number(info.NetworkSettings.Ports?.['9000/tcp']?.[0]?.HostPort);
  if (!port) return false;
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const timer = setTimeout(() => (s.destroy(), resolve(false)), timeoutMs);
    s.on('connect', () => s.write('PING\n'));
    s.on('data', (d) => (clearTimeout(timer), s.destroy(), resolve(d.toString().startsWith('PONG'))));
    s.on('error', () => (clearTimeout(timer), resolve(false)));
  });
}

async function rules(): Promise<string> {
  const sidecar = await netAdminSidecar(topo);
  return (await sidecar.exec(['iptables', '-S'])).stdout;
}

describe('proxy toxics', () => {
  test('latency delays the profile read; heal removes it', async () => {
    const before = await profile();
    const fault = await toxic('profile', 'latency', { latency: 700, jitter: 0 }).inject(topo);
    const slowed = await profile();
    expect(slowed.status).toBe(200);
    expect(slowed.ms).toBeGreaterThanOrEqual(700);
    await fault.heal();
    await fault.heal(); // idempotent
    const toxics = await (await fetch(`${topo.toxiproxy.controlUrl}/proxies/profile/toxics`)).json();
    expect(toxics).toEqual([]);
    expect((await profile()).ms).toBeLessThan(700);
    expect(before.status).toBe(200);
  });

  test('down refuses connections: the fixed code answers 502 at once; heal re-enables the proxy', async () => {
    const fault = await proxyDown('profile').inject(topo);
    const down = await profile();
    expect(down.status).toBe(502);
    expect(down.ms).toBeLessThan(1000);
    await fault.heal();
    expect((await profile()).status).toBe(200);
  });

  test('bad toxic input names the attribute', () => {
    expect(() => toxic('profile', 'bandwidth', { rate: 0 })).toThrow(/rate must be >= 1 KB\/s/);
    expect(() => toxic('profile', 'latency', {})).toThrow(/attribute "latency" must be a number/);
  });
});

describe('packet faults (iptables in a sidecar sharing the web netns)', () => {
  test('each installs its commented rules, and heal removes exactly those', async () => {
    const cases = [
      { fault: lostFin('profile'), rule: /--tcp-flags FIN FIN -m comment --comment "?faultline:.*lost-fin\(profile\)/ },
      { fault: droppedRst('profile'), rule: /--tcp-flags RST RST -m comment --comment "?faultline:.*dropped-rst\(profile\)/ },
      { fault: synBlackhole('profile'), rule: /-A OUTPUT .*--dport 10000 .*SYN -m comment --comment "?faultline:.*syn-blackhole/ },
      { fault: randomLoss('storage-1', 0.5), rule: /-m statistic --mode random --probability 0.5.*loss\(storage-1,0.5\)/ },
      { fault: partition('storage-1'), rule: /--dport 10001 -m comment --comment "?faultline:.*partition\(web,storage-1\)/ },
    ];
    for (const { fault, rule } of cases) {
      const active = await fault.inject(topo);
      expect(await rules()).toMatch(rule);
      await active.heal();
      expect(await rules()).not.toMatch(/faultline:/);
    }
  });

  test('a SYN blackhole makes the fixed code time out on connect', async () => {
    const fault = await synBlackhole('profile').inject(topo);
    try {
      const r = await profile();
      expect(r.status).toBe(504);
      expect(JSON.parse(r.body).error).toMatch(/connect .*Connection timed out|timed out/i);
    } finally {
      await fault.heal();
    }
    expect((await profile()).status).toBe(200);
  });
});

describe('node faults', () => {
  test('pause freezes the node; heal unfreezes it', async () => {
    const fault = await pauseNode('storage-1').inject(topo);
    expect(await ping('storage-1')).toBe(false);
    await fault.heal();
    expect(await ping('storage-1')).toBe(true);
  });

  test.each([
    ['kill', killNode],
    ['stop', stopNode],
  ])('%s takes the node down; heal starts it again', async (_name, make) => {
    const fault = await make('storage-1').inject(topo);
    const state = await topo.docker.getContainer(topo.service('storage-1').container.getId()).inspect();
    expect(state.State.Running).toBe(false);
    await fault.heal();
    let up = false;
    for (let i = 0; i < 40 && !up; i++) up = await ping('storage-1', 500);
    expect(up).toBe(true);
  });

  test('restart brings the node back, reachable again through its proxy by name', async () => {
    await (await restartNode('storage-1').inject(topo)).heal();
    let up = false;
    for (let i = 0; i < 40 && !up; i++) up = await ping('storage-1', 500);
    expect(up).toBe(true);
    const body = Buffer.alloc(1024, 7);
    let r = await httpCall({ method: 'POST', url: `${topo.web.url}/upload.php?key=after-restart&variant=fixed`, body, deadlineMs: 5000 });
    for (let i = 0; i < 10 && r.status !== 200; i++) r = await httpCall({ method: 'POST', url: `${topo.web.url}/upload.php?key=after-restart&variant=fixed`, body, deadlineMs: 5000 });
    expect(r.status).toBe(200);
  });
});
