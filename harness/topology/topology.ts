import { basename } from 'node:path';
import type Docker from 'dockerode';
import { Wait, type StartedTestContainer } from 'testcontainers';
import { FaultlineError, UsageError } from '../errors';
import { connectDocker } from '../engine/docker';
import { ImageStore, type ProgressListener } from '../engine/images';
import { newRun, ROLE_LABEL, type RunIdentity } from '../engine/labels';
import { sweep } from '../engine/cleanup';
import { checkHardeningOverrides, type HardeningOverrides } from '../engine/hardening';
import { monotonicMs, withTimeout } from '../util/time';
import { configureTestcontainers, FaultlineContainer } from './container';
import { StartedToxiproxy, toxiproxyContainer } from './toxiproxy';
import { ServiceRegistry, type Endpoint } from './registry';

export const STORAGE_PORT = 9000;
export const PROFILE_PROXY_PORT = 10000;
/** storage-i listens on toxiproxy at STORAGE_PROXY_BASE + i. */
export const STORAGE_PROXY_BASE = 10000;

export interface TopologyOptions {
  storageNodes: number;
  maxWorkers: number;
  /** Seed data of the profile backend (a storage node): key -> value. */
  profiles: Record<string, string>;
  /** Env passed to the web container on top of faultline's (timeouts of the fixed variants ...). */
  webEnv: Record<string, string>;
  /** A user's image for the web tier instead of the bundled Apache/PHP app. */
  webImage?: string;
  webDockerfile?: { dir: string; name: string };
  webHealthPath: string;
  /** Capabilities and limits of the web container instead of its kind's (engine/hardening.ts). */
  webHardening?: HardeningOverrides;
  startTimeoutMs: number;
}

export interface StartOptions {
  docker?: Docker;
  images?: ImageStore;
  run?: RunIdentity;
  onProgress?: (message: string) => void;
  onImageProgress?: ProgressListener;
  env?: NodeJS.ProcessEnv;
}

/** A named backend service: a container reached by the web through a Toxiproxy proxy. */
export interface StartedService {
  name: string;
  container: StartedTestContainer;
  /** Address inside the topology network (container ip, service port). */
  internal: Endpoint;
  /** Port published on 127.0.0.1 for checks that bypass the proxy (e.g. listing stored data). */
  hostPort: number;
  /** The Toxiproxy proxy the web goes through to reach it. */
  proxy: { name: string; listen: Endpoint };
}

/**
 * Builder of the bundled topology: a network, Toxiproxy, a profile backend, N storage nodes and
 * an Apache/PHP web tier whose every upstream goes through a named Toxiproxy proxy.
 */
export class Topology {
  private readonly options: TopologyOptions = {
    storageNodes: 1,
    maxWorkers: 8,
    profiles: { 'profile:alice': '{"name":"alice","plan":"pro"}', 'profile:bob': '{"name":"bob","plan":"free"}' },
    webEnv: {},
    webHealthPath: '/health.php',
    startTimeoutMs: 180_000,
  };

  withStorageNodes(n: number): this {
    if (!Number.isInteger(n) || n < 1 || n > 9) throw new UsageError(`storageNodes must be an integer from 1 to 9, got ${n}`);
    this.options.storageNodes = n;
    return this;
  }

  withMaxWorkers(n: number): this {
    if (!Number.isInteger(n) || n < 2 || n > 256) throw new UsageError(`maxWorkers must be an integer from 2 to 256, got ${n}`);
    this.options.maxWorkers = n;
    return this;
  }

  withProfiles(profiles: Record<string, string>): this {
    this.options.profiles = { ...profiles };
    return this;
  }

  withWebEnv(env: Record<string, string>): this {
    this.options.webEnv = { ...this.options.webEnv, ...env };
    return this;
  }

  /**
   * Serves the web tier from another image (a user's app): it must listen on port 80 and answer
   * GET /health.php (or the path given) with 200 once ready.
   */
  withWebImage(image: string, opts: { healthPath?: string } = {}): this {
    this.options.webImage = image;
    if (opts.healthPath) this.options.webHealthPath = opts.healthPath;
    return this;
  }

  /** Builds the web tier from a user's Dockerfile directory (see withWebImage for the contract). */
  withWebDockerfile(dir: string, opts: { name?: string; healthPath?: string } = {}): this {
    this.options.webDockerfile = { dir, name: opts.name ?? basename(dir) };
    if (opts.healthPath) this.options.webHealthPath = opts.healthPath;
    return this;
  }

  /** Whether the web tier is the bundled Apache/PHP app (so its image is needed). */
  get usesBundledWeb(): boolean {
    return !this.options.webImage && !this.options.webDockerfile;
  }

  /**
   * Capabilities (added after dropping all), pids and memory limits of the web container, for a
   * user's app that needs more than the defaults (README, "Cleanup and safety").
   */
  withWebHardening(overrides: HardeningOverrides): this {
    checkHardeningOverrides(overrides, 'webHardening');
    this.options.webHardening = { ...this.options.webHardening, ...overrides };
    return this;
  }

  withStartTimeout(ms: number): this {
    this.options.startTimeoutMs = ms;
    return this;
  }

  /** Starts everything in order; a start that fails halfway stops what it started, then rethrows. */
  async start(opts: StartOptions = {}): Promise<StartedTopology> {
    const env = opts.env ?? process.env;
    configureTestcontainers(env);
    const docker = opts.docker ?? (await connectDocker(env)).docker;
    const run = opts.run ?? newRun();
    const images = opts.images ?? new ImageStore(docker, { onProgress: opts.onImageProgress, env });
    const say = opts.onProgress ?? (() => undefined);
    // Leftovers of runs whose process is gone (a kill -9, a CI timeout) go before we add ours.
    const swept = await sweep(docker);
    if (swept.containers.length + swept.networks.length > 0) {
      say(`swept leftovers of dead runs: ${swept.containers.length} containers, ${swept.networks.length} networks`);
    }
    const custom = this.options.webImage ?? (this.options.webDockerfile && (await images.ensureContext(this.options.webDockerfile.dir, this.options.webDockerfile.name)));
    const tags = await images.ensureAll(custom ? ['toxiproxy', 'storage', 'toolbox'] : ['toxiproxy', 'storage', 'web', 'toolbox']);
    if (custom) tags.web = custom;
    const topo = new StartedTopology(docker, run, images, tags.toolbox);
    const started = monotonicMs();
    const work = this.startInto(topo, docker, tags, say);
    try {
      await withTimeout(work, this.options.startTimeoutMs, 'topology start');
    } catch (e) {
      // Stop what exists (a container still waiting to be ready is removed by label, which ends
      // its wait), let in-flight steps settle (no new step starts once stopping), sweep again.
      await topo.stop().catch(() => undefined);
      await withTimeout(work, 20_000, 'abandoned topology start').catch(() => undefined);
      await sweep(docker, { runId: run.runId }).catch(() => undefined);
      throw e instanceof FaultlineError
        ? e
        : new FaultlineError('FAULTLINE_TOPOLOGY_START_FAILED', `topology start failed: ${(e as Error).message}`, { cause: e });
    }
    topo.startMs = monotonicMs() - started;
    return topo;
  }

  private async startInto(
    topo: StartedTopology,
    docker: Docker,
    tags: Record<string, string>,
    say: (m: string) => void,
  ): Promise<void> {
    const { labels, runId } = topo.run;
    const o = this.options;
    // No container may wait for readiness past the topology's own deadline.
    const deadline = monotonicMs() + o.startTimeoutMs;
    const within = (ms: number) => Math.max(1000, Math.min(ms, deadline - monotonicMs()));

    say('network');
    const network = await docker.createNetwork({ Name: `faultline-${runId}`, Driver: 'bridge', Labels: labels, CheckDuplicate: true });
    topo.onStop(() => network.remove());
    const networkId = network.id;

    const withRole = (role: string) => {
      topo.assertStarting();
      return { ...labels, [ROLE_LABEL]: role };
    };
    const track = (c: StartedTestContainer) => {
      topo.onStop(() => c.stop({ timeout: 1000 }).then(() => undefined));
      return c;
    };

    say('toxiproxy');
    const proxyContainer = track(
      await toxiproxyContainer(tags.toxiproxy, within(30_000))
        .withNetworkMode(networkId)
        .withNetworkAliases('toxiproxy')
        .withLabels(withRole('toxiproxy'))
        .withName(`faultline-${runId}-toxiproxy`)
        .start(),
    );
    topo.toxiproxy = new StartedToxiproxy(proxyContainer);
    const proxyIp = await inspectIp(docker, proxyContainer.getId(), networkId);

    const startBackend = async (name: string, proxyPort: number, seed?: Record<string, string>): Promise<StartedService> => {
      say(name);
      const env: Record<string, string> = { STORAGE_NAME: name, STORAGE_PORT: String(STORAGE_PORT) };
      if (seed) env.STORAGE_SEED = Object.entries(seed).map(([k, v]) => `${k}=${v}`).join(';');
      const container = track(
        await new FaultlineContainer(tags.storage)
          .withNetworkMode(networkId)
          .withNetworkAliases(name)
          .withLabels(withRole(name))
          .withName(`faultline-${runId}-${name}`)
          .withEnvironment(env)
          .withExposedPorts(STORAGE_PORT)
          .withWaitStrategy(Wait.forListeningPorts())
          .withStartupTimeout(within(30_000))
          .start(),
      );
      const ip = await inspectIp(docker, container.getId(), networkId);
      // By network alias, not address: Toxiproxy dials per connection, so a restarted node is found again.
      await topo.toxiproxy.createProxy(name, proxyPort, `${name}:${STORAGE_PORT}`);
      return {
        name,
        container,
        internal: { host: ip, port: STORAGE_PORT },
        hostPort: container.getMappedPort(STORAGE_PORT),
        proxy: { name, listen: { host: proxyIp, port: proxyPort } },
      };
    };

    // Backends and the web only need Toxiproxy's network alias: start them all at once.
    const webEnv = {
      FL_MAX_WORKERS: String(o.maxWorkers),
      FL_PROFILE_ADDR: `toxiproxy:${PROFILE_PROXY_PORT}`,
      FL_STORAGE_ADDRS: Array.from({ length: o.storageNodes }, (_, i) => `toxiproxy:${STORAGE_PROXY_BASE + i + 1}`).join(','),
      ...o.webEnv,
    };
    const startWeb = async () => {
      say('web');
      return track(
        await new FaultlineContainer(tags.web)
          .withRole(this.usesBundledWeb ? 'web' : 'app', { workers: o.maxWorkers })
          .withHardening(o.webHardening ?? {}, 'webHardening')
          .withNetworkMode(networkId)
          .withNetworkAliases('web')
          .withLabels(withRole('web'))
          .withName(`faultline-${runId}-web`)
          .withEnvironment(webEnv)
          .withExposedPorts(80)
          .withWaitStrategy(Wait.forHttp(o.webHealthPath, 80).forStatusCode(200))
          .withStartupTimeout(within(60_000))
          .start(),
      );
    };
    const storageNames = Array.from({ length: o.storageNodes }, (_, i) => `storage-${i + 1}`);
    const [web, profile, ...storage] = await settleAll([
      startWeb(),
      startBackend('profile', PROFILE_PROXY_PORT, o.profiles),
      ...storageNames.map((n, i) => startBackend(n, STORAGE_PROXY_BASE + i + 1)),
    ] as const);
    topo.profile = profile as StartedService;
    topo.storage.push(...(storage as StartedService[]));
    topo.web = { container: web as StartedTestContainer, url: `http://127.0.0.1:${(web as StartedTestContainer).getMappedPort(80)}`, ip: await inspectIp(docker, (web as StartedTestContainer).getId(), networkId), maxWorkers: o.maxWorkers };
    topo.registry = new ServiceRegistry([topo.profile, ...topo.storage].map((s) => ({
      name: s.name,
      proxy: s.proxy,
      upstream: { container: s.container.getName().replace(/^\//, ''), ...s.internal },
    })));
    topo.networkId = networkId;
  }
}

/** Like Promise.all, but waits for every promise (so each started container gets registered for stop) before rethrowing the first error. */
async function settleAll<T extends readonly unknown[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

async function inspectIp(docker: Docker, containerId: string, networkId: string): Promise<string> {
  const info = await docker.getContainer(containerId).inspect();
  for (const net of Object.values(info.NetworkSettings.Networks)) {
    if (net.NetworkID === networkId && net.IPAddress) return net.IPAddress;
  }
  throw new Error(`container ${containerId.slice(0, 12)} has no address on network ${networkId.slice(0, 12)}`);
}

export interface StartedWeb {
  container: StartedTestContainer;
  /** http://127.0.0.1:<published port> */
  url: string;
  /** Address on the topology network. */
  ip: string;
  maxWorkers: number;
}

/** A running topology. Stop is idempotent, runs in reverse order and keeps going after a failure. */
export class StartedTopology implements AsyncDisposable {
  toxiproxy!: StartedToxiproxy;
  profile!: StartedService;
  readonly storage: StartedService[] = [];
  web!: StartedWeb;
  registry!: ServiceRegistry;
  networkId!: string;
  startMs = 0;
  private readonly teardown: Array<() => Promise<unknown>> = [];
  private stopping?: Promise<void>;

  constructor(
    readonly docker: Docker,
    readonly run: RunIdentity,
    readonly images: ImageStore,
    readonly toolboxImage: string,
  ) {}

  get runId(): string {
    return this.run.runId;
  }

  /**
   * Registers an undo step; steps run in reverse order of registration on stop. A step
   * registered once stopping has begun (a start step that finished late) runs at once.
   */
  onStop(step: () => Promise<unknown>): void {
    if (this.stopping) {
      void this.stopping.finally(() => step().catch(() => undefined));
      return;
    }
    this.teardown.push(step);
  }

  /** Throws once the topology is stopping: a start step must not create anything then. */
  assertStarting(): void {
    if (this.stopping) throw new FaultlineError('FAULTLINE_TOPOLOGY_START_FAILED', 'topology is stopping');
  }

  service(name: string): StartedService {
    const s = name === 'profile' ? this.profile : this.storage.find((x) => x.name === name);
    if (!s) {
      const known = ['profile', ...this.storage.map((x) => x.name)].join(', ');
      throw new UsageError(`unknown service "${name}": this topology has ${known}`);
    }
    return s;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      let first: unknown;
      while (this.teardown.length > 0) {
        const step = this.teardown.pop()!;
        try {
          await step();
        } catch (e) {
          if ((e as { statusCode?: number }).statusCode === 404) continue; // already gone
          first ??= e;
        }
      }
      // Anything a step missed (a sidecar started by a fault, a failed stop) goes by label.
      try {
        await sweep(this.docker, { runId: this.runId });
      } catch (e) {
        first ??= e;
      }
      if (first) throw first;
    })();
    return this.stopping;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
