import { GenericContainer } from 'testcontainers';
import { engineHost, isRemoteEngine, publishHostIp } from '../engine/docker';
import { checkHardeningOverrides, hardenedHostConfig, hardeningFor, withOverrides, type ContainerKind, type HardeningOverrides } from '../engine/hardening';
import { ROLE_LABEL } from '../engine/labels';
import { UsageError } from '../errors';

/**
 * GenericContainer with faultline's house rules:
 * - published ports bind to 127.0.0.1 only on a local engine (on a remote one, to its host: see
 *   publishHostIp);
 * - the container sits on its run's network only (see beforeContainerCreated);
 * - every capability is dropped and only its kind's are added back, with no-new-privileges and
 *   pids and memory limits (engine/hardening.ts);
 * - the PID namespace can be shared (testcontainers 11 has no builder for PidMode; its
 *   hostConfig is protected, so a subclass sets it).
 */
export class FaultlineContainer extends GenericContainer {
  private kind?: ContainerKind;
  private workers?: number;
  private overrides: HardeningOverrides = {};

  withPidMode(mode: string): this {
    this.hostConfig.PidMode = mode;
    return this;
  }

  /** Namespaced sysctls (net.*) of the container's own network namespace (HostConfig.Sysctls). */
  withSysctls(sysctls: Record<string, string>): this {
    this.hostConfig.Sysctls = { ...this.hostConfig.Sysctls, ...sysctls };
    return this;
  }

  /**
   * The kind of container, which decides its capabilities and limits. Without it the kind
   * follows the role label (toxiproxy; profile and storage-N are storage), and anything else
   * is treated as a user's app.
   */
  withRole(kind: ContainerKind, opts: { workers?: number } = {}): this {
    this.kind = kind;
    this.workers = opts.workers;
    return this;
  }

  /** Replaces the kind's capabilities and limits where given (a user's app needing more, say). */
  withHardening(overrides: HardeningOverrides, field = 'hardening'): this {
    checkHardeningOverrides(overrides, field);
    this.overrides = { ...this.overrides, ...overrides };
    return this;
  }

  protected override async beforeContainerCreated(): Promise<void> {
    bindPublishedPorts(this.hostConfig.PortBindings);
    // testcontainers 11.14 creates a container with network aliases on Docker's default bridge
    // and connects it to the named network afterwards (generic-container.js: `NetworkMode =
    // networkAliases.length > 0 ? undefined : networkMode`, then connectToNetwork). On that
    // bridge every other container on the engine reaches it, including Toxiproxy's API, which
    // has no auth. Instead the aliases go in the create call's endpoint config for the network,
    // and testcontainers, seeing no aliases, keeps NetworkMode: one network, aliases resolve.
    if (this.networkMode && this.networkAliases.length > 0) {
      this.createOpts.NetworkingConfig = {
        EndpointsConfig: { [this.networkMode]: { Aliases: [...this.networkAliases] } },
      };
      this.networkAliases = [];
    }
    const kind = this.kind ?? kindOfRole(this.createOpts.Labels?.[ROLE_LABEL]);
    const hardening = withOverrides(hardeningFor(kind, { workers: this.workers }), this.overrides ?? {}, 'hardening');
    const hardened = hardenedHostConfig(hardening);
    // Sysctls set with withSysctls (keepalive knobs ...) stay: the hardening only adds its own.
    Object.assign(this.hostConfig, hardened, { Sysctls: { ...hardened.Sysctls, ...this.hostConfig.Sysctls } });
  }

  /**
   * A GenericContainer a user configured (a service's source), given faultline's house rules: its
   * settings stay, the class becomes this one (testcontainers has no other hook for them).
   */
  static adopt(container: GenericContainer): FaultlineContainer {
    const adopted = Object.setPrototypeOf(container, FaultlineContainer.prototype) as FaultlineContainer;
    adopted.overrides ??= {};
    return adopted;
  }
}

/**
 * Points every published port at publishHostIp of the engine testcontainers creates the container
 * on: the one its client was bound to by the first start (see configureTestcontainers).
 */
function bindPublishedPorts(portBindings: unknown): void {
  const hostIp = bindings.get(process.env)?.publishHostIp ?? publishHostIp(process.env);
  for (const bindings of Object.values((portBindings ?? {}) as Record<string, Array<{ HostIp?: string }>>)) {
    for (const binding of bindings) binding.HostIp = hostIp;
  }
}

let remoteNoticeGiven = false;

/** Once per process, on stderr: a remote engine publishes beyond loopback, on its own host. */
function noticeRemoteEngine(env: NodeJS.ProcessEnv, stderr: NodeJS.WritableStream): void {
  if (!isRemoteEngine(env) || remoteNoticeGiven) return;
  remoteNoticeGiven = true;
  stderr.write(
    `faultline: ports are published on ${engineHost(env)} because the engine is remote (DOCKER_HOST=${env.DOCKER_HOST}): ` +
      'the Toxiproxy API, the web port and the services\' ports, for the length of each run\n',
  );
}

function kindOfRole(role: string | undefined): ContainerKind {
  if (role === 'toxiproxy') return 'toxiproxy';
  if (role === 'profile' || (role !== undefined && /^storage-\d+$/.test(role))) return 'storage';
  return 'app';
}

/** What a start's env says about its engine, resolved once per start. */
export interface EngineBinding {
  /** DOCKER_HOST as given ('' for the default socket). */
  dockerHost: string;
  /** Where published ports bind (127.0.0.1 on a local engine). */
  publishHostIp: string;
  /** Where testcontainers' waits connect (engineHost). */
  waitHost: string;
}

/**
 * The engine each env was bound to. testcontainers keeps ONE engine client per process
 * (container-runtime/clients/client.js caches it at the first container start) and reads its
 * settings from process.env when it makes it, so the first start decides for the process.
 */
const bindings = new WeakMap<NodeJS.ProcessEnv, EngineBinding>();

/**
 * The engine settings of one start, and testcontainers pointed at them:
 * - Ryuk (testcontainers' reaper) cannot be pulled offline; faultline owns cleanup via labels + sweep.
 * - The host testcontainers' wait strategies connect to: engineHost. On a local engine faultline
 *   publishes every port on 127.0.0.1 only, so that is the one address that answers. Left alone,
 *   testcontainers picks the docker0 gateway (e.g. 172.17.0.1) whenever /.dockerenv exists (a CI
 *   job in a container, a sandbox), where nothing listens, and every wait times out. On a remote
 *   engine it is the DOCKER_HOST's host, which testcontainers resolves the same way.
 * testcontainers takes these only from `target` (process.env), once: they are written on the
 * first start only, and a later start on another engine is refused, one line naming both, rather
 * than run silently on the first start's engine.
 */
export function configureTestcontainers(
  env: NodeJS.ProcessEnv = process.env,
  target: NodeJS.ProcessEnv = process.env,
  stderr: NodeJS.WritableStream = process.stderr,
): EngineBinding {
  const wanted: EngineBinding = { dockerHost: env.DOCKER_HOST ?? '', publishHostIp: publishHostIp(env), waitHost: engineHost(env) };
  const bound = bindings.get(target);
  if (bound) {
    if (bound.dockerHost !== wanted.dockerHost) {
      throw new UsageError(
        `topology start: DOCKER_HOST=${wanted.dockerHost || '(default socket)'}, but this process's topologies run on DOCKER_HOST=${bound.dockerHost || '(default socket)'} (testcontainers keeps one engine per process): start topologies on another engine from another process`,
      );
    }
    return bound;
  }
  noticeRemoteEngine(env, stderr);
  target.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  target.TESTCONTAINERS_HOST_OVERRIDE ??= wanted.waitHost;
  bindings.set(target, wanted);
  return wanted;
}
