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
 * Maps proxy name <-> listen address <-> upstream container. The diagnoser uses `services` to
 * name the service behind a socket's remote address.
 */
export class ServiceRegistry {
  readonly services: Array<{ name: string; addresses: Endpoint[] } & ServiceEntry>;

  constructor(entries: ServiceEntry[]) {
    this.services = entries.map((e) => ({
      ...e,
      addresses: [...(e.proxy ? [e.proxy.listen] : []), { host: e.upstream.host, port: e.upstream.port }],
    }));
  }

  /** The service a remote address belongs to, if any. */
  serviceAt(host: string, port: number): string | undefined {
    return this.services.find((s) => s.addresses.some((a) => a.host === host && a.port === port))?.name;
  }

  byName(name: string): ServiceEntry | undefined {
    return this.services.find((s) => s.name === name);
  }

  toJSON(): object {
    return this.services.map(({ name, proxy, upstream }) => ({ name, proxy, upstream }));
  }
}
