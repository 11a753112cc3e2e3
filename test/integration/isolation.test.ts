import { readFileSync } from 'node:fs';
import type Docker from 'dockerode';
import { connectDocker } from '../../harness/engine/docker';
import { ImageStore } from '../../harness/engine/images';
import { newRun, ROLE_LABEL, RUN_LABEL } from '../../harness/engine/labels';
import { execIn } from '../../harness/engine/sidecar';
import { httpCall } from '../../harness/probes/http';
import { netnsSidecar, webSidecar } from '../../harness/topology/sidecars';
import { Topology, type StartedTopology } from '../../harness/topology/topology';

/**
 * No open doors: a run's containers sit on its own network only, so a container elsewhere on the
 * engine (another run's, a user's) cannot reach its Toxiproxy API, which has no auth; every
 * container runs with all capabilities dropped but the ones documented, and with pids and memory
 * limits.
 */

/** What the README's "Cleanup and safety" section documents, per role. */
const DOCUMENTED_CAPS: Record<string, string[]> = {
  web: ['SETUID', 'SETGID', 'KILL'],
  toxiproxy: [],
  profile: [],
  'storage-1': [],
  'sidecar:net-admin': ['NET_ADMIN', 'NET_RAW'],
  'sidecar:ptrace': ['SYS_PTRACE', 'DAC_READ_SEARCH'],
};

/** Connects to ip:port from inside a container; the address goes in as an argument, not into the script. */
async function canConnect(docker: Docker, containerId: string, ip: string, port: number): Promise<boolean> {
  const r = await execIn(docker, containerId, ['timeout', '3', 'bash', '-c', 'exec 3<>"/dev/tcp/$0/$1"', ip, String(port)], { timeoutMs: 15_000 });
  return r.exitCode === 0;
}

describe('isolation of a run', () => {
  let topo: StartedTopology | undefined;
  const probes: string[] = [];
  let docker: Docker;

  beforeAll(async () => {
    docker = (await connectDocker()).docker;
    topo = await new Topology().withMaxWorkers(4).start();
    // Both sidecar kinds, so their settings are checked too.
    await webSidecar(topo, 'net-admin');
    await webSidecar(topo, 'ptrace');
    // Packet faults drop the web's packets on arrival in Toxiproxy's namespace: its sidecar too.
    await netnsSidecar(topo, { of: 'toxiproxy' });
  });

  afterAll(async () => {
    for (const id of probes) await docker.getContainer(id).remove({ force: true }).catch(() => undefined);
    await topo?.stop();
  });

  /** A toolbox container, labelled with a run of this test, on `network` ('bridge' is Docker's default). */
  async function probeOn(network: string): Promise<string> {
    const image = await new ImageStore(docker).ensure('toolbox');
    const c = await docker.createContainer({
      Image: image,
      Cmd: ['sleep', 'infinity'],
      Labels: { ...newRun('isolation-probe').labels, [ROLE_LABEL]: 'probe' },
      HostConfig: { NetworkMode: network },
    });
    probes.push(c.id);
    await c.start();
    return c.id;
  }

  test("every container of the run sits on the run's network only, and aliases still resolve", async () => {
    const containers = await docker.listContainers({ filters: { label: [`${RUN_LABEL}=${topo!.runId}`] } });
    const withNetworks = containers.filter((c) => c.Labels[ROLE_LABEL] !== 'sidecar');
    expect(withNetworks.map((c) => c.Labels[ROLE_LABEL]).sort()).toEqual(['profile', 'storage-1', 'toxiproxy', 'web']);
    for (const c of withNetworks) {
      const info = await docker.getContainer(c.Id).inspect();
      expect({ role: c.Labels[ROLE_LABEL], networks: Object.values(info.NetworkSettings.Networks).map((n) => n.NetworkID) }).toEqual({
        role: c.Labels[ROLE_LABEL],
        networks: [topo!.networkId],
      });
      expect(info.HostConfig.NetworkMode).toBe(topo!.networkId);
    }
    // Sidecars have no network of their own: they live in the web's namespace, or Toxiproxy's.
    const sidecarModes: string[] = [];
    for (const c of containers.filter((x) => x.Labels[ROLE_LABEL] === 'sidecar')) {
      sidecarModes.push((await docker.getContainer(c.Id).inspect()).HostConfig.NetworkMode!);
    }
    const inWeb = `container:${topo!.web.container.getId()}`;
    expect(sidecarModes.sort()).toEqual([inWeb, inWeb, `container:${topo!.toxiproxy.container.getId()}`].sort());
    // The web reaches the profile backend through Toxiproxy, both by network alias.
    const profile = await httpCall({ url: `${topo!.web.url}/profile.php?user=alice`, deadlineMs: 10_000 });
    expect(profile.status).toBe(200);
    expect(JSON.parse(profile.body)).toMatchObject({ ok: true, user: 'alice' });
  });

  test("a container on Docker's default bridge cannot reach the run's Toxiproxy API; the run's network and 127.0.0.1 can", async () => {
    const proxyInfo = await docker.getContainer(topo!.toxiproxy.container.getId()).inspect();
    const addresses = Object.values(proxyInfo.NetworkSettings.Networks).map((n) => n.IPAddress).filter(Boolean);
    expect(addresses.length).toBeGreaterThan(0);

    // The probe itself works: from the run's own network, the API answers at its address there.
    const runAddress = Object.values(proxyInfo.NetworkSettings.Networks).find((n) => n.NetworkID === topo!.networkId)!.IPAddress;
    const inside = await probeOn(topo!.networkId);
    expect(await canConnect(docker, inside, runAddress, 8474)).toBe(true);
    expect(await canConnect(docker, inside, 'toxiproxy', 8474)).toBe(true);

    const outside = await probeOn('bridge');
    const outsideInfo = await docker.getContainer(outside).inspect();
    expect(Object.keys(outsideInfo.NetworkSettings.Networks)).toEqual(['bridge']);
    // Not at any address the Toxiproxy container has (before the fix it also had one on this bridge).
    for (const ip of addresses) expect({ ip, reached: await canConnect(docker, outside, ip, 8474) }).toEqual({ ip, reached: false });

    // The publication on 127.0.0.1 answers the host.
    const version = await httpCall({ url: `${topo!.toxiproxy.controlUrl}/version`, deadlineMs: 5000 });
    expect(version.status).toBe(200);
    expect(proxyInfo.HostConfig.PortBindings?.['8474/tcp']?.[0]?.HostIp).toBe('127.0.0.1');
  });

  test('every container drops all capabilities but its documented ones, with no-new-privileges and pids and memory limits', async () => {
    const containers = await docker.listContainers({ filters: { label: [`${RUN_LABEL}=${topo!.runId}`] } });
    const seen: string[] = [];
    const unchecked: string[] = [];
    for (const c of containers) {
      const info = await docker.getContainer(c.Id).inspect();
      let role = c.Labels[ROLE_LABEL];
      if (role === 'sidecar') role = info.HostConfig.PidMode ? 'sidecar:ptrace' : 'sidecar:net-admin';
      seen.push(role);
      const host = info.HostConfig as Docker.HostConfig & { SecurityOpt?: string[] };
      expect({ role, CapDrop: host.CapDrop, CapAdd: [...(host.CapAdd ?? [])].sort(), SecurityOpt: host.SecurityOpt }).toEqual({
        role,
        CapDrop: ['ALL'],
        CapAdd: [...DOCUMENTED_CAPS[role]].sort(),
        SecurityOpt: ['no-new-privileges'],
      });
      expect({ role, pids: (host.PidsLimit ?? 0) > 0, memory: (host.Memory ?? 0) > 0 }).toEqual({ role, pids: true, memory: true });
      // What the kernel enforces: the bounding set, read from inside, or (an image with no `cat`:
      // toxiproxy is FROM scratch) from the host's /proc of the container's first process.
      const inside = await execIn(docker, c.Id, ['cat', '/proc/self/status'], { timeoutMs: 10_000 }).catch(() => undefined);
      const status = inside?.exitCode === 0 ? inside.stdout : hostStatus(info.State.Pid);
      if (status === undefined) {
        unchecked.push(role);
        continue;
      }
      const bounding = BigInt(`0x${/CapBnd:\s*([0-9a-f]+)/.exec(status)![1]}`);
      expect({ role, bits: bitCount(bounding) }).toEqual({ role, bits: DOCUMENTED_CAPS[role].length });
    }
    expect([...new Set(seen)].sort()).toEqual(Object.keys(DOCUMENTED_CAPS).sort());
    // Not a skip: a container whose bounding set could be read neither way fails the test, by name.
    expect({ boundingSetUnreadable: unchecked }).toEqual({ boundingSetUnreadable: [] });
  });
});

/** /proc/PID/status of a container's first process as the host sees it (a local engine), if readable. */
function hostStatus(pid: number | undefined): string | undefined {
  if (!pid) return undefined;
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
}

function bitCount(n: bigint): number {
  let count = 0;
  for (; n > 0n; n >>= 1n) count += Number(n & 1n);
  return count;
}
