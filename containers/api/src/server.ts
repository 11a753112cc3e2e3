/**
 * faultline internal API: the HTTP service the fpm stack's /api.php calls with ext/curl.
 *
 *   GET /v1/users/<name>[?kb=K]  -> 200 JSON {"name","plan","padding"} of about K KiB (default 256)
 *   GET /health                  -> 200 "ok"
 *   anything else                -> 404 JSON
 *
 * The headers go out at once (with Content-Length), then the body in 16 KiB chunks, each
 * written only after the previous one drained: a fault that stalls the connection mid-body
 * (Toxiproxy bandwidth/slicer, dropped packets, a frozen node) leaves a client with the
 * headers and part of the body, waiting for the rest.
 *
 * Only Node builtins, nothing newer than Node 18 (Debian bookworm's `nodejs`): the image build
 * transpiles this file to CommonJS `server.js`.
 */
import * as http from 'node:http';

const NAME_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;
const DEFAULT_KB = 256;
const MAX_KB = 65536;
const CHUNK_BYTES = 16 * 1024;

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** The record, padded to about `kb` KiB: the padding is what a stalled transfer is stuck in. */
function userRecord(name: string, kb: number): Buffer {
  const head = JSON.stringify({ name, plan: name.length % 2 === 0 ? 'pro' : 'free', padding: '' }).slice(0, -3);
  const padding = 'x'.repeat(Math.max(0, kb * 1024 - head.length - 3));
  return Buffer.from(`${head}"${padding}"}\n`);
}

/** Writes `body` chunk by chunk, waiting for 'drain' whenever the socket buffer is full. */
function streamBody(res: http.ServerResponse, body: Buffer): void {
  let offset = 0;
  const writeMore = (): void => {
    while (offset < body.length) {
      const chunk = body.subarray(offset, offset + CHUNK_BYTES);
      offset += chunk.length;
      if (!res.write(chunk)) {
        res.once('drain', writeMore);
        return;
      }
    }
    res.end();
  };
  writeMore();
}

export function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://api');
  if (req.method === 'GET' && url.pathname === '/health') {
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': 3 });
    res.end('ok\n');
    return;
  }
  const match = /^\/v1\/users\/([^/]+)$/.exec(url.pathname);
  if (req.method !== 'GET' || !match) {
    sendJson(res, 404, { error: 'not found' });
    return;
  }
  const name = decodeURIComponent(match[1]);
  const kbParam = url.searchParams.get('kb') ?? String(DEFAULT_KB);
  const kb = Number(kbParam);
  if (!NAME_PATTERN.test(name) || !Number.isInteger(kb) || kb < 1 || kb > MAX_KB) {
    sendJson(res, 400, { error: `name must match ${NAME_PATTERN.source} and kb be an integer 1..${MAX_KB}` });
    return;
  }
  const body = userRecord(name, kb);
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
  res.flushHeaders();
  streamBody(res, body);
}

function main(): void {
  const port = Number(process.env.API_PORT ?? '8080');
  const server = http.createServer(handle);
  // Keep-alive off: one request per connection, like the web tiers.
  server.keepAliveTimeout = 0;
  server.on('request', (req, res) => {
    const started = Date.now();
    res.on('close', () => console.log(`[api] ${req.method} ${req.url} ${res.statusCode} ${Date.now() - started}ms${res.writableFinished ? '' : ' aborted'}`));
  });
  server.listen(port, '0.0.0.0', () => console.log(`[api] listening on 0.0.0.0:${port}`));
  const stop = (): void => process.exit(0);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (require.main === module) main();
