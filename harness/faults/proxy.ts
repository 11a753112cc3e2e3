import { UsageError } from '../errors';
import { activeFault, type Fault } from './fault';

export type ToxicType = 'latency' | 'bandwidth' | 'slow_close' | 'timeout' | 'reset_peer' | 'slicer' | 'limit_data';
export type Direction = 'downstream' | 'upstream';

/**
 * What each Toxiproxy 2.12 toxic really does (read from its source; see docs in README):
 * - latency: delays each chunk; absorbs ~1024 chunks (~32 MiB) before the client's writes block.
 * - bandwidth: rate in KB/s; a tiny rate makes the client's write() block once buffers fill.
 *   rate=0 stalls forever on <= 2.12 (changed in 2.13): use rate >= 1.
 * - slow_close: delays the close toward the client — a delayed FIN, not a lost one.
 * - timeout: with 0, reads and DISCARDS data (the client's writes never block); an upstream EOF
 *   still closes the client; removing the toxic closes the affected connections.
 * - reset_peer: a real RST, only for connections made after the toxic is in place, and only once
 *   data arrives in that direction.
 * - slicer: splits data into small chunks with a delay between them (a trickle).
 * - limit_data: closes the connection after N bytes.
 */
const REQUIRED: Record<ToxicType, string[]> = {
  latency: ['latency'],
  bandwidth: ['rate'],
  slow_close: ['delay'],
  timeout: ['timeout'],
  reset_peer: ['timeout'],
  slicer: ['average_size', 'delay'],
  limit_data: ['bytes'],
};

export interface ToxicOptions {
  stream?: Direction;
  toxicity?: number;
}

/** A Toxiproxy toxic on the proxy in front of `service`. */
export function toxic(
  service: string,
  type: ToxicType,
  attributes: Record<string, number>,
  opts: ToxicOptions = {},
): Fault {
  for (const key of REQUIRED[type] ?? []) {
    if (typeof attributes[key] !== 'number' || !Number.isFinite(attributes[key])) {
      throw new UsageError(`toxic ${type} on ${service}: attribute "${key}" must be a number`);
    }
  }
  if (type === 'bandwidth' && attributes.rate <= 0) {
    throw new UsageError(`toxic bandwidth on ${service}: rate must be >= 1 KB/s (rate=0 stalls forever on Toxiproxy <= 2.12)`);
  }
  const stream = opts.stream ?? 'downstream';
  const name = `${type}-${stream}`;
  const description = `${type} ${JSON.stringify(attributes)} ${stream} on proxy ${service}`;
  return {
    name: `${type}(${service})`,
    layer: 'proxy',
    description,
    async inject(topo) {
      const proxy = await topo.toxiproxy.proxy(topo.service(service).proxy.name);
      const created = await proxy.addToxic({ name, type, stream, toxicity: opts.toxicity ?? 1, attributes });
      return activeFault(topo, this, async () => {
        await created.remove().catch((e: Error) => {
          if (!/404|not found/i.test(e.message)) throw e;
        });
      });
    },
  };
}

/** Disables the proxy: existing connections are closed and new ones refused. */
export function proxyDown(service: string): Fault {
  return {
    name: `down(${service})`,
    layer: 'proxy',
    description: `proxy ${service} disabled: connections closed, new ones refused`,
    async inject(topo) {
      const proxy = await topo.toxiproxy.proxy(topo.service(service).proxy.name);
      await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
      return activeFault(topo, this, async () => {
        const p = await topo.toxiproxy.proxy(proxy.name);
        await p.update({ enabled: true, listen: p.listen, upstream: p.upstream });
      });
    },
  };
}
