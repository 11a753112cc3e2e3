/** Addresses as the reports print them, and the registry lookup that names a peer's service. */
import type { ResourceReport, ServiceRegistry } from './model';
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

// ---------------------------------------------------------------------------------------------
// Well-known ports: a guess, never a name. A port says what usually listens there, not what does:
// the reports print "5432, probably postgres" and keep it apart from `service` (a name the user
// or the topology gave). IANA's registry and each server's documented default.

export const WELL_KNOWN_PORTS: Readonly<Record<number, string>> = {
  80: 'http',
  443: 'https',
  8080: 'http',
  8443: 'https',
  3306: 'mysql',
  5432: 'postgres',
  6379: 'redis',
  11211: 'memcached',
  5672: 'amqp',
  9200: 'elasticsearch',
  27017: 'mongodb',
  9092: 'kafka',
  2181: 'zookeeper',
  4222: 'nats',
  1433: 'mssql',
  1521: 'oracle',
  389: 'ldap',
  25: 'smtp',
  53: 'dns',
};

/** What a remote port usually is, or undefined. */
export function guessService(port: number): string | undefined {
  return Object.prototype.hasOwnProperty.call(WELL_KNOWN_PORTS, port) ? WELL_KNOWN_PORTS[port] : undefined;
}

/** `5432, probably postgres`: how a guess is printed wherever a name would be. */
export function guessText(port: number, guess: string): string {
  return `${port}, probably ${guess}`;
}

/** An upstream as the evidence names it: `pg (10.0.0.5:5432)`, `10.0.0.5:5432 (5432, probably postgres)`, or `ip:port`. */
export function upstreamText(registry: ServiceRegistry | undefined, remote: Endpoint): string {
  const name = serviceFor(registry, remote);
  if (name) return `${name} (${endpointText(remote)})`;
  const guess = guessService(remote.port);
  return guess ? `${endpointText(remote)} (${guessText(remote.port, guess)})` : endpointText(remote);
}

// ---------------------------------------------------------------------------------------------
// Service names given on the command line (`--service NAME=HOST:PORT`, `--services FILE`). The
// parsers throw ServiceSpecError with a message that names the bad value; the CLI prefixes its
// flag, so the line reads `diagnose: --service "x": …`.

export class ServiceSpecError extends Error {}

const SERVICE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,99}$/;

/**
 * `HOST:PORT` or `[V6]:PORT`, HOST an IP address or `localhost`, port 1-65535. Names are refused,
 * not resolved: sockets show addresses, and a name resolved here may not be what the target's
 * resolver gave it.
 */
export function parseHostPort(text: string): { host: string; port: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[0-9]{1,3}(?:\.[0-9]{1,3}){3}|localhost):([0-9]{1,5})$/i.exec(text.trim());
  const port = m ? Number(m[2]) : NaN;
  const host = m ? (m[1] as string).replace(/^\[|\]$/g, '') : '';
  if (!m || !(port >= 1 && port <= 65535) || (host.includes('.') && !host.includes(':') && host.split('.').some((o) => Number(o) > 255))) {
    throw new ServiceSpecError(
      `"${text}" is not HOST:PORT with HOST an IP address or localhost (e.g. 10.0.0.5:5432, [::1]:6379; port 1-65535; names are not resolved)`,
    );
  }
  return { host, port };
}

/** `NAME=HOST:PORT`. */
export function parseServiceSpec(text: string): { name: string; address: { host: string; port: number } } {
  const eq = text.indexOf('=');
  const name = eq > 0 ? text.slice(0, eq).trim() : '';
  if (!SERVICE_NAME.test(name)) throw new ServiceSpecError(`"${text}" must be NAME=HOST:PORT, e.g. pg=10.0.0.5:5432`);
  return { name, address: parseHostPort(text.slice(eq + 1)) };
}

/** The JSON of `--services FILE`: `{ "NAME": "HOST:PORT" | ["HOST:PORT", ...] }`. */
export function parseServicesJson(text: string): ServiceRegistry {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new ServiceSpecError(`is not JSON (${(e as Error).message}): write { "NAME": "HOST:PORT" | ["HOST:PORT", ...] }`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ServiceSpecError('must be a JSON object { "NAME": "HOST:PORT" | ["HOST:PORT", ...] }');
  }
  const services: ServiceRegistry['services'] = [];
  for (const [name, value] of Object.entries(data as Record<string, unknown>)) {
    if (!SERVICE_NAME.test(name)) throw new ServiceSpecError(`service name "${name}" must be letters, digits and _ . : @ / - (at most 100)`);
    const list = Array.isArray(value) ? value : [value];
    if (list.length === 0 || list.some((v) => typeof v !== 'string')) {
      throw new ServiceSpecError(`"${name}" must be "HOST:PORT" or a non-empty list of them`);
    }
    try {
      services.push({ name, addresses: (list as string[]).map(parseHostPort) });
    } catch (e) {
      throw new ServiceSpecError(`"${name}": ${(e as Error).message}`);
    }
  }
  return { services };
}

/** Several registries as one (the CLI's flags first: the first name that matches wins). */
export function mergeRegistries(...registries: Array<ServiceRegistry | undefined>): ServiceRegistry | undefined {
  const services = registries.flatMap((r) => r?.services ?? []);
  return services.length > 0 ? { services } : undefined;
}

/**
 * A TCP resource without a service name gets the guess for its remote port, and its chain one line
 * of evidence that says it is a guess and how to replace it with a name.
 */
export function addServiceGuess(resource: ResourceReport, evidence: string[]): void {
  if (resource.type !== 'tcp' || resource.service || !resource.remote) return;
  const port = Number(/:([0-9]+)$/.exec(resource.remote)?.[1]);
  const guess = guessService(port);
  if (!guess) return;
  resource.serviceGuess = guess;
  evidence.push(
    `${resource.remote}: ${port} is ${guess}'s well-known port, so probably ${guess} — a guess from the port alone; name it with --service NAME=${resource.remote}`,
  );
}
