import { basename } from 'node:path';
import type Docker from 'dockerode';
import { Wait, type StartedTestContainer } from 'testcontainers';
import { FaultlineError, UsageError } from '../errors';
import { connectDocker, hostPort } from '../engine/docker';
import { ImageStore, type ImageName, type ProgressListener } from '../engine/images';
import { newRun, ROLE_LABEL, type RunIdentity } from '../engine/labels';
import { cleanByLabel } from '../engine/cleanup';
import { execIn } from '../engine/sidecar';
import { checkHardeningOverrides, type HardeningOverrides } from '../engine/hardening';
import { monotonicMs, withTimeout } from '../util/time';
import { configureTestcontainers, FaultlineContainer } from './container';
import { StartedToxiproxy, toxiproxyContainer } from './toxiproxy';
import { ServiceRegistry, type Endpoint } from './registry';
import { declareService, defaultWait, renderAppEnv, type ServiceDecl, type ServiceOptions, type ServiceSource } from './services';
import { Teardown } from './teardown';

export const STORAGE_PORT = 9000;
/** Proxies listen inside the Toxiproxy container from here up, one port per service port, in declaration order. */
export const PROXY_PORT_BASE = 10000;
/** The demo topology's profile backend listens on the first proxy port. */
export const PROFILE_PROXY_PORT = PROXY_PORT_BASE;
/** storage-i listens on toxiproxy at STORAGE_PROXY_BASE + i. */
export const STORAGE_PROXY_BASE = PROXY_PORT_BASE;
/** Network alias of the Toxiproxy container: the app reaches every service through it. */
export const TOXIPROXY_ALIAS = 'toxiproxy';

export interface TopologyOptions {
  storageNodes: number;
  maxWorkers: number;
  /** Seed data of the profile backend (a storage node): key -> value. */
  profiles: Record<string, string>;
  /** Env passed to the web container on top of faultline's (timeouts of the fixed variants ...). */
  webEnv: Record<string, string>;
  /** Sysctls of the web's network namespace (net.ipv4.tcp_keepalive_* ...). */
  webSysctls: Record<string, string>;
  /** Sysctls of Toxiproxy's network namespace (the upstream side of each proxied connection). */
  proxySysctls: Record<string, string>;
  /** The app under test: the bundled Apache/PHP app, another bundled image, a user's image or Dockerfile. */
  web: { kind: 'bundled'; image: ImageName } | { kind: 'image'; ref: string } | { kind: 'dockerfile'; dir: string; name: string };
  webHealthPath: string;
  /** Whether the demo backends (profile, storage-N) are part of the topology. */
  demoServices: boolean;
  /** Services declared with withService, in declaration order. */
  services: ServiceDecl[];
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

const DEMO_PROFILES = { 'profile:alice': '{"name":"alice","plan":"pro"}', 'profile:bob': '{"name":"bob","plan":"free"}' };

/**
 * Builder of a topology: a network, Toxiproxy, the upstream services (each behind a proxy named
 * after it) and the app under test ("web"), whose every upstream goes through its proxy.
 *
 * By default it is faultline's demo: the bundled Apache/PHP app, a `profile` backend and
 * `storage-N` nodes. `withService` adds a service of your own (any image, Dockerfile or
 * GenericContainer); `withoutDemoServices()` drops the demo backends.
 */
export class Topology {
  private readonly options: TopologyOptions = {
    storageNodes: 1,
    maxWorkers: 8,
    profiles: { ...DEMO_PROFILES },
    webEnv: {},
    webSysctls: {},
    proxySysctls: {},
    web: { kind: 'bundled', image: 'web' },
    webHealthPath: '/health.php',
    demoServices: true,
    services: [],
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
   * Sets sysctls in the web's network namespace: only `net.*` ones are per namespace (Docker
   * refuses the others), e.g. `net.ipv4.tcp_keepalive_time` for the app's keepalive sockets.
   */
  withWebSysctls(sysctls: Record<string, string>): this {
    this.options.webSysctls = { ...this.options.webSysctls, ...checkSysctls('withWebSysctls', sysctls) };
    return this;
  }

  /**
   * Sets sysctls in Toxiproxy's network namespace, the far end of every proxied connection the
   * app holds (e.g. `net.ipv4.tcp_orphan_retries`: how long a FIN nobody acknowledges is retried).
   */
  withProxySysctls(sysctls: Record<string, string>): this {
    this.options.proxySysctls = { ...this.options.proxySysctls, ...checkSysctls('withProxySysctls', sysctls) };
    return this;
  }

  /**
   * Serves the web tier from another image (a user's app): it must listen on port 80 and answer
   * GET /health.php (or the path given) with 200 once ready.
   */
  withWebImage(image: string, opts: { healthPath?: string } = {}): this {
    if (typeof image !== 'string' || image === '') throw new UsageError('withWebImage: image must be an image reference');
    this.options.web = { kind: 'image', ref: image };
    if (opts.healthPath) this.options.webHealthPath = opts.healthPath;
    return this;
  }

  /** Builds the web tier from a user's Dockerfile directory (see withWebImage for the contract). */
  withWebDockerfile(dir: string, opts: { name?: string; healthPath?: string } = {}): this {
    this.options.web = { kind: 'dockerfile', dir, name: opts.name ?? basename(dir) };
    if (opts.healthPath) this.options.webHealthPath = opts.healthPath;
    return this;
  }

  /** Serves the web tier from one of faultline's bundled app images (e.g. the FPM stack's `fpm`). */
  withBundledWeb(image: ImageName, opts: { healthPath?: string } = {}): this {
    this.options.web = { kind: 'bundled', image };
    if (opts.healthPath) this.options.webHealthPath = opts.healthPath;
    return this;
  }

  /**
   * Adds an upstream service behind a Toxiproxy proxy named after it. Every fault of the
   * catalogue then targets it by name (`lostFin('mariadb')`, `toxic('redis', 'latency', ...)`,
   * `pauseNode('redis')`), and the diagnoser names it as a culprit's service. The app under test
   * gets its proxied address in env (`opts.appEnv`, default `FL_<NAME>_ADDR=toxiproxy:<port>`).
   */
  withService(name: string, source: ServiceSource, opts: ServiceOptions): this {
    const decl = declareService(name, source, opts);
    if (this.options.services.some((s) => s.name === name)) throw new UsageError(`withService("${name}"): name "${name}" is already declared in this topology`);
    // A name taken by a demo backend is reported by start (before any engine work), so that
    // withoutDemoServices() may come after withService.
    this.options.services.push(decl);
    return this;
  }

  /** Drops the demo backends (profile, storage-N): the topology is the app plus your services. */
  withoutDemoServices(): this {
    this.options.demoServices = false;
    return this;
  }

  /** Whether the web tier is the bundled Apache/PHP app. */
  get usesBundledWeb(): boolean {
    return this.options.web.kind === 'bundled' && this.options.web.image === 'web';
  }

  /** faultline images the topology needs (for building them up front, once, before parallel runs). */
  get bundledImages(): ImageName[] {
    const names = new Set<ImageName>(['toxiproxy', 'toolbox']);
    if (this.options.web.kind === 'bundled') names.add(this.options.web.image);
    for (const s of this.allServices()) if (s.source.kind === 'bundled') names.add(s.source.image);
    return [...names];
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
    if (!Number.isInteger(ms) || ms < 1000) throw new UsageError(`startTimeoutMs must be an integer >= 1000, got ${ms}`);
    this.options.startTimeoutMs = ms;
    return this;
  }

  /** The demo backends (when on) and the declared services, in proxy-port order. */
  private allServices(): ServiceDecl[] {
    const o = this.options;
    if (!o.demoServices) return o.services;
    const seed = Object.entries(o.profiles).map(([k, v]) => `${k}=${v}`).join(';');
    const demo = (name: string, env: Record<string, string>, appEnv: Record<string, string>) =>
      declareService(name, { bundled: 'storage' }, { port: STORAGE_PORT, env: { STORAGE_NAME: name, STORAGE_PORT: String(STORAGE_PORT), ...env }, appEnv, beforeApp: false, startupTimeoutMs: 30_000 });
    const storage = Array.from({ length: o.storageNodes }, (_, i) => demo(`storage-${i + 1}`, {}, {}));
    // The demo app reads every storage node from one variable.
    const all = [demo('profile', { STORAGE_SEED: seed }, { FL_PROFILE_ADDR: '{addr}' }), ...storage];
    const clash = o.services.find((s) => all.some((d) => d.name === s.name));
    if (clash) throw new UsageError(`withService("${clash.name}"): name "${clash.name}" is taken by a demo backend; pick another or call withoutDemoServices()`);
    return [...all, ...o.services];
  }

  /** Starts everything in order; a start that fails halfway stops what it started, then rethrows. */
  async start(opts: StartOptions = {}): Promise<StartedTopology> {
    const env = opts.env ?? process.env;
    configureTestcontainers(env);
    const services = this.allServices();
    const docker = opts.docker ?? (await connectDocker(env)).docker;
    const run = opts.run ?? newRun();
    const images = opts.images ?? new ImageStore(docker, { onProgress: opts.onImageProgress, env });
    const say = opts.onProgress ?? (() => undefined);
    // Leftovers of runs whose process is gone (a kill -9, a CI timeout) go before we add ours.
    // Another run's leftovers that cannot go yet (a network whose containers another sweep is
    // still removing) are not this run's failure: the next sweep takes them.
    const swept = await cleanByLabel(docker).catch((e: Error) => {
      say(`leftovers of dead runs not swept yet: ${e.message.split('\n')[0]}`);
      return undefined;
    });
    if (swept && swept.containers.length + swept.networks.length > 0) {
      say(`swept leftovers of dead runs: ${swept.containers.length} containers, ${swept.networks.length} networks`);
    }
    // Every image first: a missing image or a failing build is reported before anything runs.
    const tags = await images.ensureAll(this.bundledImages);
    const webTag = await this.webImage(images, docker);
    const serviceImages = new Map<string, string>();
    for (const s of services) {
      if (s.source.kind !== 'container') serviceImages.set(s.name, await serviceImage(s, images, docker));
    }
    const started = monotonicMs();
    const teardown = new Teardown();
    const work = this.startInto({ docker, run, images, teardown, toolbox: tags.toolbox, toxiproxy: tags.toxiproxy, web: webTag, serviceImages, services, say, started });
    try {
      return await withTimeout(work, this.options.startTimeoutMs, 'topology start');
    } catch (e) {
      // Stop what exists (a container still waiting to be ready is removed by label, which ends
      // its wait), let in-flight steps settle (no new step starts once stopping), sweep again.
      await teardown.run(() => cleanByLabel(docker, { runId: run.runId })).catch(() => undefined);
      await withTimeout(work, 20_000, 'abandoned topology start').catch(() => undefined);
      await cleanByLabel(docker, { runId: run.runId }).catch(() => undefined);
      throw e instanceof FaultlineError
        ? e
        : new FaultlineError('FAULTLINE_TOPOLOGY_START_FAILED', `topology start failed: ${(e as Error).message}`, { cause: e });
    }
  }

  private async webImage(images: ImageStore, docker: Docker): Promise<string> {
    const w = this.options.web;
    if (w.kind === 'bundled') return images.ensure(w.image);
    if (w.kind === 'dockerfile') return images.ensureContext(w.dir, w.name);
    await ensureImageRef(docker, w.ref, 'withWebImage: image');
    return w.ref;
  }

  private async startInto(s: {
    docker: Docker;
    run: RunIdentity;
    images: ImageStore;
    teardown: Teardown;
    toolbox: string;
    toxiproxy: string;
    web: string;
    serviceImages: Map<string, string>;
    services: ServiceDecl[];
    say: (m: string) => void;
    started: number;
  }): Promise<StartedTopology> {
    const { docker, teardown, say } = s;
    const { labels, runId } = s.run;
    const o = this.options;
    // No container may wait for readiness past the topology's own deadline.
    const deadline = monotonicMs() + o.startTimeoutMs;
    const within = (ms: number) => Math.max(1000, Math.min(ms, deadline - monotonicMs()));

    say('network');
    const network = await docker.createNetwork({ Name: `faultline-${runId}`, Driver: 'bridge', Labels: labels, CheckDuplicate: true });
    teardown.push(() => network.remove());
    const networkId = network.id;

    const withRole = (role: string) => {
      teardown.assertOpen();
      return { ...labels, [ROLE_LABEL]: role };
    };
    // The containers go together and without a stop timeout: by the time the stack reaches them
    // every fault is healed and every check has read what it needs, so nothing waits on a
    // graceful exit (a 1 s timeout each, one after another, was ~1 s per container per run).
    const track = (c: StartedTestContainer) => {
      teardown.push(() => c.stop({ timeout: 0 }).then(() => undefined), 'containers');
      return c;
    };

    say('toxiproxy');
    const proxyContainer = track(
      await toxiproxyContainer(s.toxiproxy, within(30_000))
        .withSysctls(o.proxySysctls)
        .withNetworkMode(networkId)
        .withNetworkAliases(TOXIPROXY_ALIAS)
        .withLabels(withRole('toxiproxy'))
        .withName(`faultline-${runId}-toxiproxy`)
        .start(),
    );
    const toxiproxy = await StartedToxiproxy.connect(proxyContainer);
    const proxyIp = await inspectIp(docker, proxyContainer.getId(), networkId);

    // Proxies first, by network alias (Toxiproxy dials per connection, so a restarted node is
    // found again): the app can be started at the same time as the services it reaches.
    let nextPort = PROXY_PORT_BASE;
    const proxiesOf = new Map<string, Map<number, { name: string; listen: Endpoint }>>();
    for (const decl of s.services) {
      const byPort = new Map<number, { name: string; listen: Endpoint }>();
      for (const [i, port] of decl.ports.entries()) {
        const proxyName = i === 0 ? decl.name : `${decl.name}-${port}`;
        const listenPort = nextPort++;
        await toxiproxy.createProxy(proxyName, listenPort, `${decl.name}:${port}`);
        byPort.set(port, { name: proxyName, listen: { host: proxyIp, port: listenPort } });
      }
      proxiesOf.set(decl.name, byPort);
    }

    const startService = async (decl: ServiceDecl): Promise<StartedService> => {
      say(decl.name);
      const container = track(await serviceContainer(decl, s.serviceImages.get(decl.name))
        .withNetworkMode(networkId)
        .withNetworkAliases(decl.name)
        .withLabels(withRole(decl.name))
        .withName(`faultline-${runId}-${decl.name}`)
        .withExposedPorts(...decl.ports)
        .withStartupTimeout(within(decl.startupTimeoutMs))
        .start());
      if (decl.seed?.command) {
        say(`${decl.name}: seed`);
        const r = await execIn(docker, container.getId(), decl.seed.command, { timeoutMs: decl.seed.timeoutMs ?? 60_000 });
        if (r.exitCode !== 0) {
          throw new FaultlineError(
            'FAULTLINE_TOPOLOGY_START_FAILED',
            `withService("${decl.name}"): seed.command exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ').slice(0, 300)}`,
          );
        }
      }
      const byPort = proxiesOf.get(decl.name)!;
      return {
        name: decl.name,
        container,
        internal: { host: await inspectIp(docker, container.getId(), networkId), port: decl.ports[0] },
        hostPort: container.getMappedPort(decl.ports[0]),
        proxy: byPort.get(decl.ports[0])!,
        proxies: byPort,
      };
    };

    const appEnv: Record<string, string> = { FL_MAX_WORKERS: String(o.maxWorkers) };
    for (const decl of s.services) Object.assign(appEnv, renderAppEnv(decl, TOXIPROXY_ALIAS, (p) => proxiesOf.get(decl.name)!.get(p)!.listen.port));
    if (o.demoServices) {
      appEnv.FL_STORAGE_ADDRS = s.services
        .filter((d) => d.name.startsWith('storage-'))
        .map((d) => `${TOXIPROXY_ALIAS}:${proxiesOf.get(d.name)!.get(STORAGE_PORT)!.listen.port}`)
        .join(',');
    }
    Object.assign(appEnv, o.webEnv);
    const startWeb = async () => {
      say('web');
      return track(
        await new FaultlineContainer(s.web)
          .withRole(this.usesBundledWeb ? 'web' : 'app', { workers: o.maxWorkers })
          .withHardening(o.webHardening ?? {}, 'webHardening')
          .withNetworkMode(networkId)
          .withNetworkAliases('web')
          .withLabels(withRole('web'))
          .withName(`faultline-${runId}-web`)
          .withEnvironment(appEnv)
          .withSysctls(o.webSysctls)
          .withExposedPorts(80)
          .withWaitStrategy(Wait.forHttp(o.webHealthPath, 80).forStatusCode(200))
          .withStartupTimeout(within(60_000))
          .start(),
      );
    };

    // Services the app needs at boot first; the demo backends start alongside the app.
    const early = s.services.filter((d) => d.beforeApp);
    const late = s.services.filter((d) => !d.beforeApp);
    const earlyStarted = settleAll(early.map(startService));
    const [webContainer, lateStarted] = await settleAll([
      earlyStarted.then(() => startWeb()),
      settleAll(late.map(startService)),
    ] as const);
    const byName = new Map<string, StartedService>();
    for (const svc of [...(await earlyStarted), ...lateStarted]) byName.set(svc.name, svc);
    const services = s.services.map((d) => byName.get(d.name)!);

    const web: StartedWeb = {
      container: webContainer,
      url: `http://${hostPort(webContainer.getHost(), webContainer.getMappedPort(80))}`,
      ip: await inspectIp(docker, webContainer.getId(), networkId),
      maxWorkers: o.maxWorkers,
    };
    const registry = new ServiceRegistry(services.flatMap((svc) =>
      [...svc.proxies.entries()].map(([port, proxy]) => ({
        name: svc.name,
        proxy,
        upstream: { container: svc.container.getName().replace(/^\//, ''), host: svc.internal.host, port },
      })),
    ));
    return new StartedTopology({
      docker,
      run: s.run,
      images: s.images,
      toolboxImage: s.toolbox,
      teardown,
      toxiproxy,
      web,
      services,
      registry,
      networkId,
      startMs: monotonicMs() - s.started,
    });
  }
}

/** Only `net.*` sysctls are per network namespace (Docker refuses the others for a container). */
function checkSysctls(builder: string, sysctls: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(sysctls)) {
    if (!/^net\.[a-z0-9_.]+$/.test(name)) throw new UsageError(`${builder}: ${name} is not a per-network-namespace sysctl (net.*)`);
    if (!/^[0-9A-Za-z_ .-]+$/.test(String(value))) throw new UsageError(`${builder}: ${name} has an unusable value ${JSON.stringify(value)}`);
  }
  return sysctls;
}

/** The container for a service, from whichever source it was declared with. */
function serviceContainer(decl: ServiceDecl, image: string | undefined): FaultlineContainer {
  let c: FaultlineContainer;
  if (decl.source.kind === 'container') {
    // The user's configured container keeps its settings; faultline's house rules (127.0.0.1
    // publication, its own network only) come with its class.
    c = FaultlineContainer.adopt(decl.source.container);
  } else {
    c = new FaultlineContainer(image!);
  }
  // A service is an app of its own (unknown needs) unless it says what it needs.
  if (decl.capabilities !== undefined) (c as FaultlineContainer).withHardening({ capabilities: decl.capabilities }, `withService("${decl.name}").capabilities`);
  if (Object.keys(decl.env).length > 0) c.withEnvironment(decl.env);
  if (decl.waitFor) c.withWaitStrategy(decl.waitFor);
  else if (decl.source.kind !== 'container') c.withWaitStrategy(defaultWait());
  if (decl.seed?.files) {
    c.withCopyContentToContainer(Object.entries(decl.seed.files).map(([target, content]) => ({ content, target })));
  }
  return c;
}

/** The image tag a service runs, built or pulled now: a failure names the service and the field. */
async function serviceImage(decl: ServiceDecl, images: ImageStore, docker: Docker): Promise<string> {
  const src = decl.source;
  try {
    if (src.kind === 'bundled') return await images.ensure(src.image);
    if (src.kind === 'dockerfile') return await images.ensureContext(src.dir, src.name);
    if (src.kind === 'image') {
      await ensureImageRef(docker, src.ref, `withService("${decl.name}"): source image`);
      return src.ref;
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof FaultlineError && e.message.startsWith(`withService("${decl.name}")`))) throw e;
    const code = e instanceof FaultlineError ? e.code : 'FAULTLINE_IMAGE_BUILD_FAILED';
    throw new FaultlineError(code, `withService("${decl.name}"): source: ${(e as Error).message}`, { cause: e });
  }
  throw new Error(`unreachable: ${src.kind}`);
}

/** Pulls an image that is not present (bounded); a missing one is one line naming `what`. */
async function ensureImageRef(docker: Docker, ref: string, what: string): Promise<void> {
  try {
    await docker.getImage(ref).inspect();
    return;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
  try {
    const stream = await withTimeout(docker.pull(ref) as Promise<NodeJS.ReadableStream>, 120_000, `pull of ${ref}`);
    await withTimeout(
      new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()))),
      600_000,
      `pull of ${ref}`,
    );
  } catch (e) {
    const reason = ((e as Error).message ?? String(e)).split('\n')[0].slice(0, 200);
    throw new FaultlineError('FAULTLINE_IMAGE_BUILD_FAILED', `${what} "${ref}" is not on this engine and cannot be pulled (${reason}): build or load it first`, { cause: e });
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
