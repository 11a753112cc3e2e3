// N HTTP clients of 127.0.0.1:PORT, each on its own connection (no agent pooling), sent at once;
// prints "ready" once every request is written. With ONCE, waits for every answer first, then
// keeps the process (and its keep-alive connections) open, idle.
// `node node_clients.js PORT N [once]`
'use strict';
const http = require('node:http');
const [port, n, once] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4] === 'once'];
let pending = n;
for (let i = 0; i < n; i++) {
  const req = http.request({ host: '127.0.0.1', port, path: `/r${i}`, agent: new http.Agent({ keepAlive: true }) }, (res) => {
    res.resume();
    res.on('end', () => {
      if (once && --pending === 0) console.log('ready');
    });
  });
  req.end();
}
if (!once) setTimeout(() => console.log('ready'), 100);
setInterval(() => {}, 1 << 30);
