import { GenericContainer } from 'testcontainers';
import { join } from 'node:path';
import { UsageError } from '../../harness/errors';
import { declareService, defaultAddrVar, renderAppEnv } from '../../harness/topology/services';
import { Topology } from '../../harness/topology/topology';

const QUOTES = join(__dirname, '..', '..', 'examples', 'your-stack', 'quotes');

describe('withService declarations', () => {
  test.each([
    ['an invalid name', () => new Topology().withService('My_DB', 'redis:7', { port: 6379 }), /withService\("My_DB"\): name must be/],
    ['a name too long', () => new Topology().withService(`a${'b'.repeat(40)}`, 'redis:7', { port: 6379 }), /name must be 1-31/],
    ['a reserved name', () => new Topology().withService('toxiproxy', 'redis:7', { port: 6379 }), /reserved/],
    ['a duplicate name', () => new Topology().withService('redis', 'redis:7', { port: 6379 }).withService('redis', 'redis:7', { port: 6380 }), /withService\("redis"\): name "redis" is already declared/],
    ['a demo backend name', () => new Topology().withService('profile', 'redis:7', { port: 6379 }).start(), /name "profile" is taken by a demo backend/],
    ['a port out of range', () => new Topology().withService('db', 'mariadb:11', { port: 70000 }), /withService\("db"\): port must be an integer from 1 to 65535, got 70000/],
    ['a port that is not an integer', () => new Topology().withService('db', 'mariadb:11', { port: 33.5 }), /port must be an integer/],
    ['no port', () => new Topology().withService('db', 'mariadb:11', { port: [] }), /port must name at least one port/],
    ['duplicate ports', () => new Topology().withService('db', 'mariadb:11', { port: [3306, 3306] }), /duplicate/],
    ['a source that is not an image reference', () => new Topology().withService('db', 'Not An Image!', { port: 1 }), /withService\("db"\): source "Not An Image!" is neither/],
    ['a directory that does not exist', () => new Topology().withService('db', './no/such/dir', { port: 1 }), /source directory .* does not exist/],
    ['a directory without a Dockerfile', () => new Topology().withService('db', __dirname, { port: 1 }), /has no Dockerfile/],
    ['a bad env name', () => new Topology().withService('db', 'mariadb:11', { port: 1, env: { 'A-B': 'x' } }), /env has an invalid variable name "A-B"/],
    ['an appEnv naming an undeclared port', () => new Topology().withService('db', 'mariadb:11', { port: 1, appEnv: { X: '{addr:2}' } }), /appEnv.X refers to port 2/],
    ['a bad capability', () => new Topology().withService('db', 'mariadb:11', { port: 1, capabilities: ['all'] }), /capabilities has an invalid capability/],
    ['a seed command that is a string', () => new Topology().withService('db', 'mariadb:11', { port: 1, seed: { command: 'mariadb < x' as unknown as string[] } }), /seed.command must be a non-empty array/],
  ] as Array<[string, () => unknown, RegExp]>)('%s is a one-line UsageError naming the service and the field', async (_what, declare, pattern) => {
    const attempt = async () => declare();
    await expect(attempt()).rejects.toBeInstanceOf(UsageError);
    await expect(attempt()).rejects.toThrow(pattern);
    await expect(attempt()).rejects.toThrow(/^withService\("[^"]*"\): [^\n]+$/);
  });

  test('sources resolve by kind: image reference, Dockerfile directory, GenericContainer, bundled', () => {
    expect(declareService('a', 'registry.example.com:5000/team/api:1.4', { port: 80 }).source).toEqual({ kind: 'image', ref: 'registry.example.com:5000/team/api:1.4' });
    expect(declareService('b', QUOTES, { port: 7000 }).source).toMatchObject({ kind: 'dockerfile', dir: QUOTES, name: 'quotes' });
    expect(declareService('c', { dockerfile: QUOTES, name: 'q' }, { port: 7000 }).source).toMatchObject({ kind: 'dockerfile', name: 'q' });
    expect(declareService('d', new GenericContainer('x:1'), { port: 1 }).source.kind).toBe('container');
    expect(declareService('e', { bundled: 'storage' }, { port: 9000 }).source).toEqual({ kind: 'bundled', image: 'storage' });
  });

  test("the app's env: FL_<NAME>_ADDR by default, templates with host, port and addr otherwise", () => {
    expect(defaultAddrVar('user-db')).toBe('FL_USER_DB_ADDR');
    const byDefault = declareService('user-db', 'mariadb:11', { port: 3306 });
    expect(renderAppEnv(byDefault, 'toxiproxy', () => 10003)).toEqual({ FL_USER_DB_ADDR: 'toxiproxy:10003' });
    const mapped = declareService('db', 'postgres:16', {
      port: [5432, 9187],
      appEnv: { DB_HOST: '{host}', DB_PORT: '{port}', DATABASE_URL: 'postgres://app@{addr}/app', METRICS: '{addr:9187}' },
    });
    const ports = new Map([[5432, 10001], [9187, 10002]]);
    expect(renderAppEnv(mapped, 'toxiproxy', (p) => ports.get(p)!)).toEqual({
      DB_HOST: 'toxiproxy',
      DB_PORT: '10001',
      DATABASE_URL: 'postgres://app@toxiproxy:10001/app',
      METRICS: 'toxiproxy:10002',
    });
  });

  test('the images a topology needs follow its services and web', () => {
    expect(new Topology().bundledImages.sort()).toEqual(['storage', 'toolbox', 'toxiproxy', 'web']);
    expect(new Topology().withoutDemoServices().withService('q', QUOTES, { port: 7000 }).bundledImages.sort()).toEqual(['toolbox', 'toxiproxy', 'web']);
  });
});
