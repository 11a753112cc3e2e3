/**
 * What a service may be called, in a module of its own (no testcontainers import): the scenario
 * emitter (harness/emit) and the single-file faultline-diagnose use it too.
 */
import { UsageError } from '../errors';

/**
 * Service names end up in container names, Toxiproxy proxy names, env var names and iptables
 * comments: lower-case letters, digits and dashes, starting with a letter.
 */
const SERVICE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
/** Names the topology itself uses for its own containers. */
const RESERVED = new Set(['web', 'toxiproxy', 'sidecar', 'network']);

export function validateServiceName(name: unknown, where = 'withService'): string {
  if (typeof name !== 'string' || !SERVICE_NAME.test(name)) {
    throw new UsageError(
      `${where}(${JSON.stringify(name)}): name must be 1-31 lower-case letters, digits or dashes, starting with a letter (it names containers, proxies and env vars)`,
    );
  }
  if (RESERVED.has(name)) throw new UsageError(`${where}("${name}"): name "${name}" is reserved for faultline's own containers; pick another`);
  return name;
}

