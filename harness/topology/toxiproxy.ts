import { Wait, type StartedTestContainer } from 'testcontainers';
import { Toxiproxy, type Proxy } from 'toxiproxy-node-client';
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

export class StartedToxiproxy {
  readonly client: Toxiproxy;
  readonly controlUrl: string;

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
