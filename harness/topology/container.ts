import { GenericContainer } from 'testcontainers';
import { engineHost, isRemoteEngine, publishHostIp } from '../engine/docker';

/**
 * GenericContainer with faultline's house rules: published ports bind to 127.0.0.1 only on a local
 * engine (on a remote one, to its host: see publishHostIp), and the
 * PID namespace can be shared (testcontainers 11 has no builder for PidMode; its hostConfig is
 * protected, so a subclass sets it).
 */
export class FaultlineContainer extends GenericContainer {
  withPidMode(mode: string): this {
    this.hostConfig.PidMode = mode;
    return this;
  }

  /** Namespaced sysctls (net.*) of the container's own network namespace (HostConfig.Sysctls). */
  withSysctls(sysctls: Record<string, string>): this {
    this.hostConfig.Sysctls = { ...this.hostConfig.Sysctls, ...sysctls };
    return this;
  }

  protected override async beforeContainerCreated(): Promise<void> {
    bindPublishedPorts(this.hostConfig.PortBindings);
  }
}

/**
 * Points every published port at publishHostIp. testcontainers creates the container on the
 * engine process.env names, so that is the env that decides.
 */
function bindPublishedPorts(portBindings: unknown): void {
  const hostIp = publishHostIp(process.env);
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

/**
 * Settings testcontainers reads from process.env, decided once per start:
 * - Ryuk (testcontainers' reaper) cannot be pulled offline; faultline owns cleanup via labels + sweep.
 * - The host testcontainers' wait strategies connect to: engineHost. On a local engine faultline
 *   publishes every port on 127.0.0.1 only, so that is the one address that answers. Left alone,
 *   testcontainers picks the docker0 gateway (e.g. 172.17.0.1) whenever /.dockerenv exists (a CI
 *   job in a container, a sandbox), where nothing listens, and every wait times out. On a remote
 *   engine it is the DOCKER_HOST's host, which testcontainers resolves the same way.
 */
export function configureTestcontainers(
  env: NodeJS.ProcessEnv = process.env,
  target: NodeJS.ProcessEnv = process.env,
  stderr: NodeJS.WritableStream = process.stderr,
): void {
  noticeRemoteEngine(env, stderr);
  target.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  target.TESTCONTAINERS_HOST_OVERRIDE ??= engineHost(env);
}
