import { GenericContainer } from 'testcontainers';

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

  protected override async beforeContainerCreated(): Promise<void> {
    for (const bindings of Object.values(this.hostConfig.PortBindings ?? {})) {
      for (const binding of bindings as Array<{ HostIp?: string; HostPort?: string }>) binding.HostIp = '127.0.0.1';
    }
  }
}

/** Ryuk (testcontainers' reaper) cannot be pulled offline; faultline owns cleanup via labels + sweep. */
export function disableRyukUnlessAsked(env: NodeJS.ProcessEnv = process.env): void {
  env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
}
