/**
 * What a service may be called, in a module of its own (no testcontainers import): the scenario
 * emitter (harness/emit) and the single-file faultline-diagnose use it too.
 */
import { UsageError } from '../errors';
import { SERVICE_NAME, SERVICE_NAME_RULE } from './names';
/** Names the topology itself uses for its own containers. */
const RESERVED = new Set(['web', 'toxiproxy', 'sidecar', 'network']);

export function validateServiceName(name: unknown, where = 'withService'): string {
  if (typeof name !== 'string' || !SERVICE_NAME.test(name)) {
    throw new UsageError(
      `${where}(${JSON.stringify(name)}): name must be ${SERVICE_NAME_RULE} (it names containers, proxies and env vars)`,
    );
  }
  if (RESERVED.has(name)) throw new UsageError(`${where}("${name}"): name "${name}" is reserved for faultline's own containers; pick another`);
  return name;
}

