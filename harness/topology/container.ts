import { GenericContainer } from 'testcontainers';
import { assertLocalEngine } from '../engine/docker';

/**
 * GenericContainer with faultline's house rules: published ports bind to 127.0.0.1 only, and the
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
    for (const bindings of Object.values(this.hostConfig.PortBindings ?? {})) {
      for (const binding of bindings as Array<{ HostIp?: string; HostPort?: string }>) binding.HostIp = '127.0.0.1';
    }
  }
}

/**
 * Settings testcontainers reads from process.env, decided once per start:
 * - Ryuk (testcontainers' reaper) cannot be pulled offline; faultline owns cleanup via labels + sweep.
 * - The host testcontainers' wait strategies connect to. faultline publishes every port on
 *   127.0.0.1 only, so that is the one address that answers. Left alone, testcontainers picks the
 *   docker0 gateway (e.g. 172.17.0.1) whenever /.dockerenv exists (a CI job in a container, a
 *   sandbox), where nothing listens, and every wait times out.
 * A DOCKER_HOST on another machine cannot work with 127.0.0.1-only ports (assertLocalEngine).
 */
export function configureTestcontainers(env: NodeJS.ProcessEnv = process.env, target: NodeJS.ProcessEnv = process.env): void {
  assertLocalEngine(env);
  target.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
  target.TESTCONTAINERS_HOST_OVERRIDE ??= '127.0.0.1';
}
