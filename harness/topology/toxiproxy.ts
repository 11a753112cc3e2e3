import { Wait, type StartedTestContainer } from 'testcontainers';
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { FaultlineError } from '../errors';
import { hostPort } from '../engine/docker';
import { FaultlineContainer } from './container';

export const TOXIPROXY_CONTROL_PORT = 8474;

/**
 * The real Toxiproxy server in a container, control API published on 127.0.0.1 only (on a remote
 * engine: on its host, see publishHostIp).
 * (@testcontainers/toxiproxy exists only as 12.x, which needs Node >= 22.22: this is the thin
 * wrapper we need instead.)
 */
export function toxiproxyContainer(image: string, startupTimeoutMs = 30_000): FaultlineContainer {
  return new FaultlineContainer(image)
    .withRole('toxiproxy')
    .withExposedPorts(TOXIPROXY_CONTROL_PORT)
    .withWaitStrategy(Wait.forHttp('/version', TOXIPROXY_CONTROL_PORT).forStatusCode(200))
    .withStartupTimeout(startupTimeoutMs) as FaultlineContainer;
}

/**
 * The Toxiproxy versions whose toxics faultline's catalogue was read against (faults/proxy.ts):
 * major 2. Toxics whose meaning changed within 2.x are refused by the catalogue itself.
 */
export const TOXIPROXY_MAJOR = 2;

/** Parses `/version`: `{"version": "2.12.0"}` since 2.6, plain `2.5.0` before; `v` prefix allowed. */
export function parseToxiproxyVersion(body: string): string | undefined {
  let text = body.trim();
  try {
    const json = JSON.parse(text) as { version?: unknown };
    if (json && typeof json === 'object' && typeof json.version === 'string') text = json.version;
  } catch {
    // plain text
  }
  const m = /^v?(\d+\.\d+\.\d+)/.exec(text.trim());
  return m?.[1];
}

export class StartedToxiproxy {
  readonly client: Toxiproxy;
  readonly controlUrl: string;
  /** The server's version, from `/version` at start ('unknown' until connect() read it). */
  version = 'unknown';

  /**
   * The started server, its version checked: a server that is not Toxiproxy 2.x is refused with
   * one line (the catalogue's toxics were read from 2.12's source; 3.x may mean other things).
   */
  static async connect(container: StartedTestContainer): Promise<StartedToxiproxy> {
    const t = new StartedToxiproxy(container);
    const res = await fetch(`${t.controlUrl}/version`, { signal: AbortSignal.timeout(5000) });
    const body = await res.text();
    const version = res.ok ? parseToxiproxyVersion(body) : undefined;
    if (!version) {
      throw new FaultlineError(
        'FAULTLINE_TOPOLOGY_START_FAILED',
        `toxiproxy: /version answered ${res.status} ${JSON.stringify(body.trim().slice(0, 80))}, not a release version (a build without its version stamped?): ` +
          'faultline cannot tell what its toxics mean; use the bundled image or an official 2.x tag',
      );
    }
    if (Number(version.split('.')[0]) !== TOXIPROXY_MAJOR) {
      throw new FaultlineError(
        'FAULTLINE_TOPOLOGY_START_FAILED',
        `toxiproxy: version ${version} is not supported: faultline's toxics are defined for Toxiproxy ${TOXIPROXY_MAJOR}.x (use the bundled image, or a 2.x tag)`,
      );
    }
    t.version = version;
    return t;
  }

  constructor(readonly container: StartedTestContainer) {
    // The engine's host as testcontainers resolved it: 127.0.0.1 locally, DOCKER_HOST's host when remote.
    this.controlUrl = `http://${hostPort(container.getHost(), container.getMappedPort(TOXIPROXY_CONTROL_PORT))}`;
    this.client = new Toxiproxy(this.controlUrl);
  }

  async createProxy(name: string, listenPort: number, upstream: string): Promise<Proxy> {
    return this.client.createProxy({ name, listen: `0.0.0.0:${listenPort}`, upstream });
  }

  async proxy(name: string): Promise<Proxy> {
    return this.client.get(name);
  }

  /** Removes every toxic and re-enables every proxy: the state a heal returns to. */
  async reset(): Promise<void> {
    await this.client.reset();
  }
}
