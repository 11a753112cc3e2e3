import { dockerOptions } from '../../harness/engine/docker';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIgnored, parseDockerignore } from '../../harness/engine/dockerignore';
import { contextHash, hashDir, officialRef } from '../../harness/engine/images';
import { newRun, ownerIsGone, HOST_LABEL, PID_LABEL, PID_START_LABEL, RUN_LABEL } from '../../harness/engine/labels';
import { configureTestcontainers } from '../../harness/topology/container';
import { ServiceRegistry } from '../../harness/topology/registry';
import { parseDuration } from '../../harness/util/time';

describe('run identity and sweeping decisions', () => {
  test('a new run carries the run label and who owns it', () => {
    const run = newRun();
    expect(run.labels[RUN_LABEL]).toBe(run.runId);
    expect(run.labels[PID_LABEL]).toBe(String(process.pid));
    expect(run.labels[PID_START_LABEL]).toMatch(/^\d+$/);
  });

  test('our own live process is not gone; a dead pid or a reused pid is', () => {
    const live = newRun().labels;
    expect(ownerIsGone(live)).toBe(false);
    expect(ownerIsGone({ ...live, [PID_LABEL]: '999999999' })).toBe(true);
    expect(ownerIsGone({ ...live, [PID_START_LABEL]: '1' })).toBe(true);
  });

  test("another host's run is never judged gone", () => {
    expect(ownerIsGone({ ...newRun().labels, [HOST_LABEL]: 'some-other-ci-runner', [PID_LABEL]: '999999999' })).toBe(false);
  });
});

describe('image tags', () => {
  test('are stable for an unchanged context and depend on the base', () => {
    expect(contextHash('web', ['faultline/base:a'])).toBe(contextHash('web', ['faultline/base:a']));
    expect(contextHash('web', ['faultline/base:a'])).not.toBe(contextHash('web', ['faultline/base:b']));
    expect(contextHash('storage')).not.toBe(contextHash('web'));
  });
});

describe('.dockerignore', () => {
  const rules = parseDockerignore(['# docs', '*.md', '!KEEP.md', '/tmp/', 'logs/**', '**/*.pyc', 'data?', 'Dockerfile', ''].join('\n'));

  test.each([
    ['README.md', true],
    ['KEEP.md', false],
    ['docs/README.md', false], // `*` stays within the root segment, as in Docker
    ['tmp/a/b.txt', true],
    ['logs/x/y.log', true],
    ['app/x/mod.pyc', true],
    ['mod.pyc', true],
    ['data1', true],
    ['data12', false],
    ['app.py', false],
    ['Dockerfile', false], // always sent
  ])('%s ignored: %s', (path, ignored) => {
    expect(isIgnored(rules, path)).toBe(ignored);
  });

  test('an ignored file does not change an app image tag; a sent file does', () => {
    const dir = mkdtempSync(join(tmpdir(), 'faultline-ctx-'));
    try {
      writeFileSync(join(dir, 'Dockerfile'), 'FROM x\n');
      writeFileSync(join(dir, '.dockerignore'), 'README.md\nnotes/\n');
      writeFileSync(join(dir, 'app.py'), 'print(1)\n');
      const before = hashDir(dir);
      writeFileSync(join(dir, 'README.md'), 'edited\n');
      mkdirSync(join(dir, 'notes'));
      writeFileSync(join(dir, 'notes', 'n.txt'), 'n\n');
      expect(hashDir(dir)).toBe(before);
      writeFileSync(join(dir, 'app.py'), 'print(2)\n');
      expect(hashDir(dir)).not.toBe(before);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('pulled image references', () => {
  test('official unless overridden; an override must be an image reference', () => {
    expect(officialRef('toxiproxy', {})).toBe('ghcr.io/shopify/toxiproxy:2.12.0');
    expect(officialRef('base', { FAULTLINE_BASE_IMAGE: '' })).toBe('debian:bookworm-slim');
    for (const ref of ['mirror.corp:5000/library/debian:bookworm-slim', 'registry.example.com/shopify/toxiproxy', `debian@sha256:${'a'.repeat(64)}`]) {
      expect(officialRef('base', { FAULTLINE_BASE_IMAGE: ref })).toBe(ref);
    }
    expect(() => officialRef('toxiproxy', { FAULTLINE_TOXIPROXY_IMAGE: 'Not A Ref' })).toThrow(/^FAULTLINE_TOXIPROXY_IMAGE=Not A Ref is not an image reference/);
    expect(() => officialRef('base', { FAULTLINE_BASE_IMAGE: 'https://mirror/debian' })).toThrow(/FAULTLINE_BASE_IMAGE/);
  });
});

describe('DOCKER_HOST', () => {
  test('unix and tcp forms, default socket', () => {
    expect(dockerOptions({})).toEqual({ socketPath: '/var/run/docker.sock' });
    expect(dockerOptions({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' })).toEqual({ socketPath: '/run/user/1000/docker.sock' });
    expect(dockerOptions({ DOCKER_HOST: 'tcp://127.0.0.1:2376' })).toMatchObject({ host: '127.0.0.1', port: 2376, protocol: 'http' });
  });
});

describe('testcontainers settings', () => {
  it('points waits at 127.0.0.1, where ports are published, and disables Ryuk', () => {
    const target: NodeJS.ProcessEnv = {};
    configureTestcontainers({}, target);
    expect(target).toEqual({ TESTCONTAINERS_HOST_OVERRIDE: '127.0.0.1', TESTCONTAINERS_RYUK_DISABLED: 'true' });
  });

  it('keeps what the user set', () => {
    const target: NodeJS.ProcessEnv = { TESTCONTAINERS_HOST_OVERRIDE: '10.0.0.5', TESTCONTAINERS_RYUK_DISABLED: 'false' };
    configureTestcontainers({ DOCKER_HOST: 'unix:///run/user/1000/docker.sock' }, target);
    expect(target.TESTCONTAINERS_HOST_OVERRIDE).toBe('10.0.0.5');
    expect(target.TESTCONTAINERS_RYUK_DISABLED).toBe('false');
  });

  it('a loopback tcp engine is local (127.0.0.1); a remote one points waits at its host', () => {
    const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
    const local: NodeJS.ProcessEnv = {};
    configureTestcontainers({ DOCKER_HOST: 'tcp://127.0.0.1:2375' }, local, quiet);
    expect(local.TESTCONTAINERS_HOST_OVERRIDE).toBe('127.0.0.1');
    const remote: NodeJS.ProcessEnv = {};
    configureTestcontainers({ DOCKER_HOST: 'tcp://docker:2375' }, remote, quiet);
    expect(remote.TESTCONTAINERS_HOST_OVERRIDE).toBe('docker');
  });
});

describe('service registry', () => {
  const registry = new ServiceRegistry([
    { name: 'profile', proxy: { name: 'profile', listen: { host: '172.20.0.2', port: 10000 } }, upstream: { container: 'p', host: '172.20.0.3', port: 9000 } },
    { name: 'storage-1', proxy: { name: 'storage-1', listen: { host: '172.20.0.2', port: 10001 } }, upstream: { container: 's', host: '172.20.0.4', port: 9000 } },
  ]);
  test('names the service behind a proxy listener or an upstream address', () => {
    expect(registry.serviceAt('172.20.0.2', 10000)).toBe('profile');
    expect(registry.serviceAt('172.20.0.2', 10001)).toBe('storage-1');
    expect(registry.serviceAt('172.20.0.4', 9000)).toBe('storage-1');
    expect(registry.serviceAt('172.20.0.2', 9999)).toBeUndefined();
  });
});

describe('durations', () => {
  test('accepts ms, s, m and numbers; names the field otherwise', () => {
    expect(parseDuration('250ms', 'x')).toBe(250);
    expect(parseDuration('2s', 'x')).toBe(2000);
    expect(parseDuration('1.5m', 'x')).toBe(90_000);
    expect(parseDuration(40, 'x')).toBe(40);
    expect(() => parseDuration('soon', 'fault.after')).toThrow(/fault\.after must be a duration like "250ms"/);
  });
});
