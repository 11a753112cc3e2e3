import { connect } from 'node:net';
import { killNode, pauseNode, restartNode, stopNode } from '../../harness/faults/node';
import { droppedRst, lostFin, partition, randomLoss, repliesLost, synBlackhole } from '../../harness/faults/packet';
import { netnsSidecar, type Netns } from '../../harness/topology/sidecars';
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

/** `iptables -S` of a namespace's NET_ADMIN sidecar, each line prefixed with whose it is. */
async function rulesIn(ns: Netns): Promise<string> {
  const sidecar = await netnsSidecar(topo, ns);
  const who = ns.of === 'service' ? ns.name : ns.of;
  return (await sidecar.exec(['iptables', '-S'])).stdout.split('\n').map((l) => `${who}: ${l}`).join('\n');
}

/** The rules of every namespace a packet fault may touch. */
async function rules(): Promise<string> {
  const all = await Promise.all([rulesIn({ of: 'web' }), rulesIn({ of: 'toxiproxy' }), rulesIn({ of: 'service', name: 'storage-1' })]);
  return all.join('\n');
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
    // Read before the heal: the toxic was there, and the profile read went through its proxy.
    expect(fault.effect?.confirmed).toBe(true);
    expect(fault.effect?.evidence.join('\n')).toMatch(/toxic latency-downstream in place on proxy profile .*Toxiproxy 2\.12\.0/);
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

describe('packet faults (iptables in sidecars sharing the receiving netns)', () => {
  test('each installs its commented rules where the packets arrive, and heal removes exactly those', async () => {
    // Packets to the web: the web's INPUT; packets from the web: Toxiproxy's INPUT (never the
    // sender's OUTPUT); on the upstream hop, the service's INPUT and Toxiproxy's.
    const cases = [
      { fault: lostFin('profile'), rules: [/^web: -A INPUT .*--sport 10000 .*--tcp-flags FIN FIN -m comment --comment "?faultline:.*lost-fin\(profile\)/m] },
      { fault: droppedRst('profile'), rules: [/^web: -A INPUT .*--tcp-flags RST RST -m comment --comment "?faultline:.*dropped-rst\(profile\)/m] },
      { fault: synBlackhole('profile'), rules: [/^toxiproxy: -A INPUT .*--dport 10000 .*SYN -m comment --comment "?faultline:.*syn-blackhole/m] },
      { fault: repliesLost('storage-1'), rules: [/^web: -A INPUT .*--sport 10001 -m comment --comment "?faultline:.*replies-lost\(storage-1\).* -j DROP/m] },
      {
        fault: randomLoss('storage-1', 0.5),
        rules: [/^web: -A INPUT .*--sport 10001 -m statistic --mode random --probability 0.5.*loss\(storage-1,0.5\)/m, /^toxiproxy: -A INPUT .*--dport 10001 -m statistic --mode random --probability 0.5/m],
      },
      {
        fault: partition('storage-1'),
        rules: [/^web: -A INPUT .*--sport 10001 -m comment --comment "?faultline:.*partition\(web,storage-1\).* -j DROP/m, /^toxiproxy: -A INPUT .*--dport 10001 -m comment --comment "?faultline:.*partition\(web,storage-1\).* -j DROP/m],
      },
      {
        fault: partition('storage-1', { behavior: 'reject' }),
        rules: [/^web: -A INPUT .*--sport 10001 ! --tcp-flags RST RST .*partition\(web,storage-1,reject\).* -j REJECT --reject-with tcp-reset/m, /^toxiproxy: -A INPUT .*--dport 10001 ! --tcp-flags RST RST .* -j REJECT --reject-with tcp-reset/m],
      },
      { fault: partition('storage-1', { behavior: 'drop-new' }), rules: [/^toxiproxy: -A INPUT .*--dport 10001 .*SYN -m comment --comment "?faultline:.*partition\(web,storage-1,drop-new\)/m] },
      {
        fault: partition('storage-1', { hop: 'upstream' }),
        rules: [/^storage-1: -A INPUT .*--dport 9000 -m comment --comment "?faultline:.*partition\(toxiproxy,storage-1\).* -j DROP/m, /^toxiproxy: -A INPUT .*--sport 9000 -m comment --comment "?faultline:.*partition\(toxiproxy,storage-1\)/m],
      },
    ];
    for (const { fault, rules: expected } of cases) {
      const active = await fault.inject(topo);
      const listed = await rules();
      for (const rule of expected) expect(listed).toMatch(rule);
      await active.heal();
      expect(await rules()).not.toMatch(/faultline:/);
    }
  });

  test('bad partition behaviour is one line naming the choices', () => {
    expect(() => partition('storage-1', { behavior: 'bounce' as never })).toThrow(/behavior must be one of drop, reject, drop-new, got "bounce"/);
  });

  test('a rejecting partition makes the fixed code fail at once (502, connection refused), not time out', async () => {
    const fault = await partition('profile', { behavior: 'reject' }).inject(topo);
    try {
      const r = await profile();
      expect(r.status).toBe(502);
      expect(r.ms).toBeLessThan(1000);
      expect(JSON.parse(r.body).error).toMatch(/Connection refused/);
    } finally {
      await fault.heal();
    }
    expect(fault.effect).toMatchObject({ confirmed: true });
    expect((await profile()).status).toBe(200);
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
    expect(fault.effect).toMatchObject({ confirmed: true, evidence: [expect.stringMatching(/State.Status paused, Paused true/)] });
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
