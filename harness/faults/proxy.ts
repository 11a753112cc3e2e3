import { UsageError } from '../errors';
import type { StartedTopology } from '../topology/topology';
import { activeFault, type Fault, type FaultEffect } from './fault';
import { countProxyTraffic, type ProxyTraffic } from './packet';

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
  const refused = versionDependent(type, attributes);
  if (refused) throw new UsageError(`toxic ${type} on ${service}: ${refused}`);
  const stream = opts.stream ?? 'downstream';
  const name = `${type}-${stream}`;
  const description = `${type} ${JSON.stringify(attributes)} ${stream} on proxy ${service}`;
  return {
    name: `${type}(${service})`,
    layer: 'proxy',
    description,
    async inject(topo) {
      const proxyName = topo.service(service).proxy.name;
      const proxy = await topo.toxiproxy.proxy(proxyName);
      const traffic = await countProxyTraffic(topo, service);
      const created = await proxy.addToxic({ name, type, stream, toxicity: opts.toxicity ?? 1, attributes }).catch(async (e: unknown) => {
        await traffic.remove().catch(() => undefined);
        throw e;
      });
      return activeFault(
        topo,
        this,
        async () => {
          await created.remove().catch((e: Error) => {
            if (!/404|not found/i.test(e.message)) throw e;
          });
          await traffic.remove();
        },
        async () => {
          const state = await proxyState(topo, proxyName);
          const present = state.toxics.some((t) => t.name === name && t.type === type);
          // Upstream toxics act on what the web sends, downstream ones on what the service sends.
          const acted = stream === 'upstream' ? 'fromClients' : 'fromService';
          return effectOf(await traffic.read(), acted, [
            `toxic ${name} ${present ? 'in place' : 'GONE'} on proxy ${proxyName} at the heal (Toxiproxy ${topo.toxiproxy.version})`,
          ], present);
        },
      );
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
      const traffic = await countProxyTraffic(topo, service);
      await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
      return activeFault(
        topo,
        this,
        async () => {
          const p = await topo.toxiproxy.proxy(proxy.name);
          await p.update({ enabled: true, listen: p.listen, upstream: p.upstream });
          await traffic.remove();
        },
        async () => {
          const state = await proxyState(topo, proxy.name);
          return effectOf(await traffic.read(), 'fromClients', [`proxy ${proxy.name} ${state.enabled ? 'ENABLED again' : 'disabled'} at the heal`], !state.enabled);
        },
      );
    },
  };
}

/**
 * Toxics whose meaning differs between Toxiproxy versions: refused, with why, before any engine
 * work (a user's registry may serve either version). Returns the reason, or undefined.
 */
export function versionDependent(type: ToxicType, attributes: Record<string, number>): string | undefined {
  if (type === 'bandwidth' && attributes.rate <= 0) {
    return 'rate must be >= 1 KB/s: rate=0 means different things by version (Toxiproxy <= 2.12 stalls the stream forever, 2.13 passes it unthrottled)';
  }
  return undefined;
}

/** A proxy's state as the API reports it now. */
async function proxyState(topo: StartedTopology, proxyName: string): Promise<{ enabled: boolean; toxics: Array<{ name: string; type: string }> }> {
  const res = await fetch(`${topo.toxiproxy.controlUrl}/proxies/${encodeURIComponent(proxyName)}`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`Toxiproxy GET /proxies/${proxyName} answered ${res.status}`);
  return (await res.json()) as { enabled: boolean; toxics: Array<{ name: string; type: string }> };
}

/** Confirmed when the fault was still in place and traffic reached the proxy in the direction it acts on. */
function effectOf(traffic: ProxyTraffic, acted: keyof ProxyTraffic, evidence: string[], inPlace: boolean): FaultEffect {
  const t = traffic[acted];
  evidence.push(
    `through the proxy while in place: ${traffic.fromClients.packets} packets (${traffic.fromClients.bytes} bytes) from the web, ` +
      `${traffic.fromService.packets} packets (${traffic.fromService.bytes} bytes) from the service`,
  );
  if (t.packets === 0) evidence.push(`no packet ${acted === 'fromClients' ? 'from the web' : 'from the service'} reached the proxy while the fault was in place: it acted on nothing`);
  return { confirmed: inPlace && t.packets > 0, evidence };
}
