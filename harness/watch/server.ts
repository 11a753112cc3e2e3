/** The metrics endpoint: GET /metrics in Prometheus' text format, nothing else. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UsageError } from '../errors';
import type { WatchMetrics } from './metrics';

export interface MetricsServer {
  /** host:port actually bound (port 0 asks the kernel for a free one). */
  readonly address: string;
  close(): Promise<void>;
}

/** Binds before anything else starts: a taken port is bad input (exit 2), not a failure at the first scrape. */
export async function listenMetrics(metrics: WatchMetrics, listen: { host: string; port: number }): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '/').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('faultline watch serves GET /metrics\n');
      return;
    }
    metrics.registry.metrics().then(
      (body) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body),
      (e: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${e.message}\n`),
    );
  });
  // A scraper that keeps its connection open must not keep a stopping watcher alive.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      const how =
        e.code === 'EADDRINUSE'
          ? 'is taken by another program: pick a free port'
          : e.code === 'EADDRNOTAVAIL' || e.code === 'ENOTFOUND'
            ? 'is not an address of this host: give one of its addresses (127.0.0.1 by default)'
            : e.code === 'EACCES'
              ? 'needs privileges this user lacks: pick a port above 1023'
              : `cannot be bound (${e.code ?? e.message})`;
      reject(new UsageError(`watch: --listen ${listen.host}:${listen.port} ${how}`));
    });
    server.listen(listen.port, listen.host, () => resolve());
  });
  const a = server.address() as AddressInfo;
  return {
    address: `${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
