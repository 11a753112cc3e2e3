// A Node HTTP server on 127.0.0.1 whose every request calls an upstream HTTP API on
// 127.0.0.1:UPSTREAM with a keep-alive agent and no timeout (the shape of an Express app calling
// a service): one event loop, requests multiplexed. Prints "port N" then "ready".
// `node node_server.js UPSTREAM`
'use strict';
const http = require('node:http');
const upstream = Number(process.argv[2]);
const agent = new http.Agent({ keepAlive: true });
const server = http.createServer((req, res) => {
  const call = http.request({ host: '127.0.0.1', port: upstream, path: '/api', agent }, (up) => {
    up.resume();
    up.on('end', () => res.end('ok\n'));
  });
  call.on('error', () => res.end('error\n'));
  call.end();
});
server.listen(0, '127.0.0.1', () => {
  console.log(`port ${server.address().port}`);
  console.log('ready');
});
