import type Docker from 'dockerode';
import type { StartedTestContainer } from 'testcontainers';
import { UsageError } from '../errors';
import type { ImageStore } from '../engine/images';
import type { RunIdentity } from '../engine/labels';
import { cleanByLabel } from '../engine/cleanup';
import type { StartedToxiproxy } from './toxiproxy';
import type { Endpoint, ServiceRegistry } from './registry';
import type { Teardown } from './teardown';

/**
 * A running topology and its parts (the web, each service), as start (start.ts) built them. It
 * owns the teardown stack that faults, sidecars (sidecars.ts) and the runner push their undo
 * steps onto, and runs it on stop.
 */

/** A named upstream service: a container the app reaches through a Toxiproxy proxy. */
export interface StartedService {
  readonly name: string;
  readonly container: StartedTestContainer;
  /** Address inside the topology network (container ip, main service port). */
  readonly internal: Endpoint;
  /** Main port published (on 127.0.0.1, or the remote engine's host) for checks that bypass the proxy (listing stored data). */
  readonly hostPort: number;
  /** The Toxiproxy proxy in front of the main port (what the app connects to). */
  readonly proxy: { name: string; listen: Endpoint };
  /** One proxy per declared port: container port -> proxy. */
  readonly proxies: ReadonlyMap<number, { name: string; listen: Endpoint }>;
}

export interface StartedWeb {
  readonly container: StartedTestContainer;
  /** http://<engine host>:<published port> (127.0.0.1 on a local engine) */
  readonly url: string;
  /** Address on the topology network. */
  readonly ip: string;
  readonly maxWorkers: number;
}

/**
 * A running topology: every part is built by `start` and read-only. Stop is idempotent, runs the
 * shared teardown stack in reverse order (faults healed, sidecars and containers removed, then a
 * sweep by label) and keeps going after a failure.
 */
export class StartedTopology implements AsyncDisposable {
  readonly docker: Docker;
  readonly run: RunIdentity;
  readonly images: ImageStore;
  readonly toolboxImage: string;
  readonly toxiproxy: StartedToxiproxy;
  readonly web: StartedWeb;
  readonly registry: ServiceRegistry;
  readonly networkId: string;
  /** How long start took, from the first container to ready (images excluded). */
  readonly startMs: number;
  private readonly services: ReadonlyMap<string, StartedService>;
  private readonly teardown: Teardown;

  constructor(parts: {
    docker: Docker;
    run: RunIdentity;
    images: ImageStore;
    toolboxImage: string;
    teardown: Teardown;
    toxiproxy: StartedToxiproxy;
    web: StartedWeb;
    services: StartedService[];
    registry: ServiceRegistry;
    networkId: string;
    startMs: number;
  }) {
    this.docker = parts.docker;
    this.run = parts.run;
    this.images = parts.images;
    this.toolboxImage = parts.toolboxImage;
    this.teardown = parts.teardown;
    this.toxiproxy = parts.toxiproxy;
    this.web = parts.web;
    this.services = new Map(parts.services.map((svc) => [svc.name, svc]));
    this.registry = parts.registry;
    this.networkId = parts.networkId;
    this.startMs = parts.startMs;
  }

  get runId(): string {
    return this.run.runId;
  }

  /** Every service, in declaration order (demo backends first). */
  get serviceList(): StartedService[] {
    return [...this.services.values()];
  }

  /** The demo profile backend. */
  get profile(): StartedService {
    return this.service('profile');
  }

  /** The demo storage nodes, storage-1 first. */
  get storage(): StartedService[] {
    return this.serviceList.filter((svc) => /^storage-\d+$/.test(svc.name));
  }

  /**
   * Registers an undo step on the topology's teardown stack (faults, sidecars, the runner's own
   * steps): steps run in reverse order on stop.
   */
  onStop(step: () => Promise<unknown>): void {
    this.teardown.push(step);
  }

  service(name: string): StartedService {
    const svc = this.services.get(name);
    if (!svc) {
      throw new UsageError(`unknown service "${name}": this topology has ${[...this.services.keys()].join(', ') || 'no services'}`);
    }
    return svc;
  }

  stop(): Promise<void> {
    // Anything a step missed (a sidecar started by a fault, a failed stop) goes by label.
    return this.teardown.run(() => cleanByLabel(this.docker, { runId: this.runId }));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
