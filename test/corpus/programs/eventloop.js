// An event-loop server for the corpus (Node): every HTTP request awaits a query on an upstream.
//   node eventloop.js serve ADDR UPSTREAM [--pooled] [--tag T]   GET / sends "SELECT 1\n" to
//       UPSTREAM (a line protocol, see upstream.py) and answers when the reply line comes back;
//       --pooled keeps one connection open for every query (queries queue on it)
//   node eventloop.js keepalive UPSTREAM_HTTP [--tag T]   an idle client that made one request
//       through an http.Agent with keepAlive and keeps the pooled connection open
// Prints "ready". Bounded: exits after 600 s.
'use strict';
const http = require('node:http');
const net = require('node:net');

const [mode, a1, a2] = process.argv.slice(2);
const pooled = process.argv.includes('--pooled');
const split = (addr) => {
  const i = addr.lastIndexOf(':');
  return { host: addr.slice(0, i), port: Number(addr.slice(i + 1)) };
};
setTimeout(() => process.exit(0), 600_000).unref();
const keepAlive = setInterval(() => {}, 600_000);

if (mode === 'serve') {
  const up = split(a2);
  let shared = null;
  const waiting = [];
  const query = () =>
    new Promise((resolve, reject) => {
      if (pooled) {
        if (!shared) {
          shared = net.connect(up);
          let buf = '';
          shared.on('data', (d) => {
            buf += d;
            while (buf.includes('\n')) {
              buf = buf.slice(buf.indexOf('\n') + 1);
              waiting.shift()?.();
            }
          });
        }
        waiting.push(resolve);
        shared.write('SELECT 1\n');
        return;
      }
      const s = net.connect(up, () => s.write('SELECT 1\n'));
      s.on('data', (d) => {
        if (String(d).includes('\n')) {
          s.end();
          resolve();
        }
      });
      s.on('error', reject);
    });
  const { host, port } = split(a1);
  http
    .createServer(async (req, res) => {
      try {
        await query();
        res.end('ok\n');
      } catch {
        res.statusCode = 502;
        res.end();
      }
    })
    .listen(port, host, () => console.log('ready'));
} else if (mode === 'keepalive') {
  const { host, port } = split(a1);
  const agent = new http.Agent({ keepAlive: true, keepAliveMsecs: 1000 });
  http.get({ host, port, path: '/', agent }, (res) => {
    res.resume();
    res.on('end', () => console.log('ready'));
  });
} else {
  console.error(`eventloop.js: unknown mode ${mode}`);
  clearInterval(keepAlive);
  process.exit(2);
}
