import { basename } from 'node:path';
import { UsageError } from '../errors';
import type { ImageName } from '../engine/images';
import { checkHardeningOverrides, type HardeningOverrides } from '../engine/hardening';
import { DEMO_PROFILES } from './demo';
import { bundledImages, usesBundledWeb, type StartOptions, type TopologyOptions } from './options';
import { declareService, type ServiceOptions, type ServiceSource } from './services';
import { startTopology } from './start';
import type { StartedTopology } from './started';

/**
 * The Topology builder, and the module importers use: it re-exports the running topology
 * (started.ts), the options types (options.ts) and the shared ports and names (constants.ts).
 * Start itself is start.ts, the proxies proxy-plan.ts, the demo backends demo.ts.
 */
export { STORAGE_PORT, PROXY_PORT_BASE, PROFILE_PROXY_PORT, STORAGE_PROXY_BASE, TOXIPROXY_ALIAS } from './constants';
export type { TopologyOptions, StartOptions } from './options';
export { StartedTopology, type StartedService, type StartedWeb } from './started';

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
    return usesBundledWeb(this.options);
  }

  /** faultline images the topology needs (for building them up front, once, before parallel runs). */
  get bundledImages(): ImageName[] {
    return bundledImages(this.options);
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

  /** Starts everything in order; a start that fails halfway stops what it started, then rethrows. */
  async start(opts: StartOptions = {}): Promise<StartedTopology> {
    return startTopology(this.options, opts);
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
