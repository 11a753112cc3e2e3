/** Addresses as the reports print them, and the registry lookup that names a peer's service. */
import type { ServiceRegistry } from './model';
import type { Endpoint } from './parse';

export function endpointText(e: Endpoint): string {
  return e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`;
}

function normalizeHost(host: string): string[] {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return ['127.0.0.1', '::1'];
  return [h.startsWith('::ffff:') && h.includes('.') ? h.slice(7) : h];
}

export function serviceFor(registry: ServiceRegistry | undefined, remote: Endpoint): string | undefined {
  if (!registry) return undefined;
  const ip = normalizeHost(remote.ip)[0];
  for (const service of registry.services) {
    for (const address of service.addresses) {
      if (address.port === remote.port && normalizeHost(address.host).includes(ip as string)) return service.name;
    }
  }
  return undefined;
}
