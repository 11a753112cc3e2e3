import { PROXY_PORT_BASE, TOXIPROXY_ALIAS } from './constants';
import { storageAddrs } from './demo';
import type { TopologyOptions } from './options';
import type { Endpoint } from './registry';
import { renderAppEnv, type ServiceDecl } from './services';
import type { StartedToxiproxy } from './toxiproxy';

/**
 * Which Toxiproxy proxies a topology has: one per declared port of every service, in declaration
 * order, listening from PROXY_PORT_BASE up; the main (first) port's proxy is named after the
 * service, any other `<service>-<port>`. Also the env that tells the app under test where each
 * proxy is.
 */

/** A proxy in front of one service port: its name and where it listens (Toxiproxy's address). */
export interface ProxyRef {
  name: string;
  listen: Endpoint;
}

/** service name -> container port -> its proxy. */
export type ProxiesOf = Map<string, Map<number, ProxyRef>>;

export interface PlannedProxy {
  service: string;
  /** The service's container port. */
  port: number;
  name: string;
  /** Port the proxy listens on inside the Toxiproxy container. */
  listenPort: number;
  /** What Toxiproxy dials, by network alias: `<service>:<port>`. */
  upstream: string;
}

/** Every proxy of `services`, in creation (and listen-port) order. */
export function planProxies(services: ServiceDecl[]): PlannedProxy[] {
  let nextPort = PROXY_PORT_BASE;
  return services.flatMap((decl) =>
    decl.ports.map((port, i) => ({
      service: decl.name,
      port,
      name: i === 0 ? decl.name : `${decl.name}-${port}`,
      listenPort: nextPort++,
      upstream: `${decl.name}:${port}`,
    })),
  );
}

/**
 * Creates the planned proxies one after another, by network alias (Toxiproxy dials per
 * connection, so a restarted node is found again).
 */
export async function createProxies(toxiproxy: StartedToxiproxy, proxyIp: string, services: ServiceDecl[]): Promise<ProxiesOf> {
  const proxiesOf: ProxiesOf = new Map();
  for (const decl of services) proxiesOf.set(decl.name, new Map());
  for (const p of planProxies(services)) {
    await toxiproxy.createProxy(p.name, p.listenPort, p.upstream);
    proxiesOf.get(p.service)!.set(p.port, { name: p.name, listen: { host: proxyIp, port: p.listenPort } });
  }
  return proxiesOf;
}

/** The app's env: its worker count, each service's proxied address(es), the demo's storage list, then webEnv on top. */
export function appEnvFor(o: TopologyOptions, services: ServiceDecl[], proxiesOf: ProxiesOf): Record<string, string> {
  const listenPort = (service: string, port: number) => proxiesOf.get(service)!.get(port)!.listen.port;
  const appEnv: Record<string, string> = { FL_MAX_WORKERS: String(o.maxWorkers) };
  for (const decl of services) Object.assign(appEnv, renderAppEnv(decl, TOXIPROXY_ALIAS, (p) => listenPort(decl.name, p)));
  if (o.demoServices) appEnv.FL_STORAGE_ADDRS = storageAddrs(services, listenPort);
  Object.assign(appEnv, o.webEnv);
  return appEnv;
}
