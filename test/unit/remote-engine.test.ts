import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { engineHost, hostPort, isRemoteEngine, publishHostIp, tlsOptions } from '../../harness/engine/docker';
import { runCli } from '../helpers/cli';

/**
 * A DOCKER_HOST that is not this machine, and DOCKER_HOSTs that do not answer as an engine. The
 * bad engines are real servers on loopback (never an address elsewhere): one that accepts and never
 * answers, one that speaks TLS, one that is a web server. Each must end `faultline run` in one line
 * naming DOCKER_HOST and what to check, exit 2 (within 10 s: `npm run bench:bounds`).
 */
describe('where the engine is', () => {
  test('unix socket and loopback tcp are local: ports on 127.0.0.1', () => {
    for (const env of [{}, { DOCKER_HOST: 'unix:///var/run/docker.sock' }, { DOCKER_HOST: 'tcp://127.0.0.1:2375' }, { DOCKER_HOST: 'tcp://localhost:2375' }]) {
      expect(isRemoteEngine(env)).toBe(false);
      expect(engineHost(env)).toBe('127.0.0.1');
      expect(publishHostIp(env)).toBe('127.0.0.1');
    }
  });

  test('tcp elsewhere is remote: ports on its host, reached at its host', () => {
    const env = { DOCKER_HOST: 'tcp://docker:2375' };
    expect(isRemoteEngine(env)).toBe(true);
    expect(engineHost(env)).toBe('docker');
    expect(publishHostIp(env)).toBe('');
    expect(hostPort('docker', 80)).toBe('docker:80');
    expect(hostPort('fd00::5', 80)).toBe('[fd00::5]:80');
  });

  test('TLS material from DOCKER_CERT_PATH; a missing file is one line naming DOCKER_CERT_PATH', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fl-certs-'));
    try {
      expect(tlsOptions({ DOCKER_HOST: 'tcp://docker:2375' })).toEqual({});
      expect(() => tlsOptions({ DOCKER_HOST: 'tcp://docker:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir })).toThrow(
        /^DOCKER_TLS_VERIFY is set for DOCKER_HOST=tcp:\/\/docker:2376, but .*ca\.pem.* do not exist: set DOCKER_CERT_PATH/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// How long each takes (within 10 s, as the README says) is measured by `npm run bench:bounds`: the
// "no answer within 5 s" message shows the deadline fired, and jest's timeout fails a hang.
describe('a DOCKER_HOST that does not answer as a Docker engine: exit 2, one line', () => {
  jest.setTimeout(20_000);
  const servers: Array<{ close(): unknown }> = [];
  const sockets: Socket[] = [];
  afterAll(() => {
    for (const s of sockets) s.destroy();
    for (const s of servers) s.close();
  });
  const listen = async (server: Server | ReturnType<typeof createTcpServer>) => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return (server.address() as AddressInfo).port;
  };

  async function expectOneLine(env: NodeJS.ProcessEnv, mention: RegExp) {
    const r = await runCli(['run', 'lost-fin', '--variant', 'fixed'], { env: { ...process.env, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '', ...env } });
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^faultline run: DOCKER_HOST=tcp:\/\/127\.0\.0\.1:\d+ /);
    expect(lines[0]).toMatch(mention);
    expect(r.stdout).toBe('');
  }

  test('nothing listens', () => expectOneLine({ DOCKER_HOST: 'tcp://127.0.0.1:1' }, /\(ECONNREFUSED\): check that the engine runs, listens/));

  test('it accepts and never answers', async () => {
    const server = createTcpServer((s) => sockets.push(s));
    const port = await listen(server);
    await expectOneLine({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }, /\(no answer within 5 s\): check that the engine runs/);
  });

  test('a web server that is not an engine', async () => {
    const port = await listen(createHttpServer((_req, res) => res.writeHead(404).end('<html>not here</html>')));
    await expectOneLine({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }, /\(HTTP 404\): something answers there, but it is not a Docker engine API/);
  });

  describe('TLS', () => {
    let certs: string;
    beforeAll(() => {
      // A self-signed CA pair on disk, as DOCKER_CERT_PATH holds (ca.pem, cert.pem, key.pem).
      certs = mkdtempSync(join(tmpdir(), 'fl-certs-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=not-the-engine', '-keyout', join(certs, 'key.pem'), '-out', join(certs, 'cert.pem')], { stdio: 'ignore' });
      execFileSync('cp', [join(certs, 'cert.pem'), join(certs, 'ca.pem')]);
    });
    afterAll(() => rmSync(certs, { recursive: true, force: true }));

    test('DOCKER_TLS_VERIFY against a plain engine port', async () => {
      const port = await listen(createHttpServer((_req, res) => res.end('{}')));
      await expectOneLine({ DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs }, /check DOCKER_CERT_PATH .* and that the engine listens with TLS/);
    });

    test('a TLS port without DOCKER_TLS_VERIFY', async () => {
      const port = await listen(createTlsServer({ key: readFileSync(join(certs, 'key.pem')), cert: readFileSync(join(certs, 'cert.pem')) }, (_req, res) => res.end('{}')));
      await expectOneLine({ DOCKER_HOST: `tcp://127.0.0.1:${port}` }, /it gave no HTTP answer: if the engine speaks TLS there \(port 2376\), set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH/);
    });
  });
});
