export interface Endpoint {
  host: string;
  port: number;
}

export interface ServiceEntry {
  name: string;
  /** The Toxiproxy proxy in front of the service (what the web connects to). */
  proxy?: { name: string; listen: Endpoint };
  /** The service itself: container name and its address on the topology network. */
  upstream: { container: string } & Endpoint;
}

/**
 * Maps proxy name <-> listen address <-> upstream container. The diagnoser reads `services` to
 * name the service behind a socket's remote address (its one lookup: `serviceFor` in
 * harness/diagnose/services.ts, which also normalises IPv4-mapped and loopback addresses).
 */
export class ServiceRegistry {
  readonly services: Array<{ name: string; addresses: Endpoint[] } & ServiceEntry>;

  constructor(entries: ServiceEntry[]) {
    this.services = entries.map((e) => ({
      ...e,
      addresses: [...(e.proxy ? [e.proxy.listen] : []), { host: e.upstream.host, port: e.upstream.port }],
    }));
  }

  toJSON(): object {
    return this.services.map(({ name, proxy, upstream }) => ({ name, proxy, upstream }));
  }
}
