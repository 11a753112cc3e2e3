import { dockerOptions } from '../../harness/engine/docker';
import { serviceFor } from '../../harness/diagnose/services';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIgnored, parseDockerignore } from '../../harness/engine/dockerignore';
import { contextHash, hashDir, officialRef } from '../../harness/engine/images';
import { hardenedHostConfig, hardeningFor, withOverrides, type ContainerKind } from '../../harness/engine/hardening';
import { ruleArgv, rulesWithComment } from '../../harness/engine/iptables';
import {
  BOOT_LABEL,
  HOST_LABEL,
  localProcessView,
  newRun,
  ownerIsGone,
  PID_LABEL,
  PID_NS_LABEL,
  PID_START_LABEL,
  processStartTicks,
  RUN_LABEL,
} from '../../harness/engine/labels';
import { sidecarHardening } from '../../harness/engine/sidecar';
import { Topology } from '../../harness/topology/topology';
import { configureTestcontainers } from '../../harness/topology/container';
import { ServiceRegistry } from '../../harness/topology/registry';
import { parseDuration } from '../../harness/util/time';

describe('run identity and sweeping decisions', () => {
  test('a new run carries the run label and who owns it: boot, PID namespace, pid, start time', () => {
    const run = newRun();
    const view = localProcessView();
    expect(run.labels[RUN_LABEL]).toBe(run.runId);
    expect(run.labels[PID_LABEL]).toBe(String(process.pid));
    expect(run.labels[PID_START_LABEL]).toMatch(/^\d+$/);
    expect(run.labels[BOOT_LABEL]).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(run.labels[BOOT_LABEL]).toMatch(/^[0-9a-f-]{36}$/);
    expect(`pid:[${run.labels[PID_NS_LABEL]}]`).toBe(readlinkSync('/proc/self/ns/pid'));
    expect(view.bootId).toBe(run.labels[BOOT_LABEL]);
  });

  test('our own live process is not gone; an exited process or a reused pid is', async () => {
    const live = newRun().labels;
    expect(ownerIsGone(live)).toBe(false);
    // A real process that has exited: its pid and start time, read while it ran.
    const child = spawn('sleep', ['30']);
    const childStart = processStartTicks(child.pid!);
    expect(childStart).toMatch(/^\d+$/);
    const exited = { ...live, [PID_LABEL]: String(child.pid), [PID_START_LABEL]: childStart! };
    expect(ownerIsGone(exited)).toBe(false);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    expect(ownerIsGone(exited)).toBe(true);
    // Our pid, another start time: the labelled process exited and the pid was reused.
    expect(ownerIsGone({ ...live, [PID_START_LABEL]: '1' })).toBe(true);
  });

  test('a run on another kernel boot or in another PID namespace is never judged gone', () => {
    const live = newRun().labels;
    const deadHere = { ...live, [PID_LABEL]: '999999999' };
    expect(ownerIsGone(deadHere)).toBe(true);
    // Another kernel (another machine sharing the engine, or before a reboot): nothing to look up.
    expect(ownerIsGone({ ...deadHere, [BOOT_LABEL]: '00000000-0000-4000-8000-000000000000' })).toBe(false);
    // Same kernel, another PID namespace (a CI job in a container): its pid 999999999 is not ours.
    expect(ownerIsGone({ ...deadHere, [PID_NS_LABEL]: '4026530000' })).toBe(false);
    // A live run in another PID namespace whose pid and hostname happen to match a dead one here.
    expect(ownerIsGone({ ...live, [PID_NS_LABEL]: '4026530000', [PID_START_LABEL]: '1' })).toBe(false);
    // Hostname no longer decides: same kernel and namespace, so the pid check is sound.
    expect(ownerIsGone({ ...deadHere, [HOST_LABEL]: 'renamed-host' })).toBe(true);
  });

  test('what this process cannot see proves nothing: no boot id here, hidden pids, labels missing a start time', () => {
    const deadHere = { ...newRun().labels, [PID_LABEL]: '999999999' };
    const view = localProcessView();
    expect(ownerIsGone(deadHere, { ...view, bootId: undefined })).toBe(false);
    expect(ownerIsGone(deadHere, { ...view, pidNamespace: undefined })).toBe(false);
    expect(ownerIsGone(deadHere, { ...view, hidesPids: true })).toBe(false);
    expect(ownerIsGone({ ...deadHere, [PID_START_LABEL]: undefined })).toBe(false);
    expect(ownerIsGone({ ...deadHere, [PID_LABEL]: 'x' })).toBe(false);
  });

  test('labels of runs before boot ids are judged as they were: hostname + pid + start time', () => {
    const legacy = { [RUN_LABEL]: 'fl-old', [PID_LABEL]: String(process.pid), [PID_START_LABEL]: processStartTicks(process.pid)!, [HOST_LABEL]: hostname() };
    expect(ownerIsGone(legacy)).toBe(false);
    expect(ownerIsGone({ ...legacy, [PID_LABEL]: '999999999' })).toBe(true);
    expect(ownerIsGone({ ...legacy, [PID_START_LABEL]: '1' })).toBe(true);
    expect(ownerIsGone({ ...legacy, [HOST_LABEL]: 'some-other-ci-runner', [PID_LABEL]: '999999999' })).toBe(false);
  });
});

describe('iptables rules read back for removal', () => {
  // As iptables-legacy 1.8.9 lists them (`iptables -S`), with faultline's rules of two runs.
  const listing = [
    '-P INPUT ACCEPT',
    '-P FORWARD ACCEPT',
    '-A INPUT -s 172.18.0.2/32 -p tcp -m tcp --sport 10001 --tcp-flags FIN FIN -m comment --comment "faultline:fl-a:lost-fin(storage-1):1" -j DROP',
    '-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT',
    '-A OUTPUT -d 172.18.0.2/32 -m statistic --mode random --probability 0.50000000000 -m comment --comment "faultline:fl-a:loss(web,\\\\x \\"q\\"):2" -j DROP',
    '-A OUTPUT -p tcp -m comment --comment "faultline:fl-b:partition(web,storage-2):1" -j DROP',
    '-A OUTPUT -m comment --comment "user rule mentioning faultline:fl-a:" -j ACCEPT',
  ].join('\n');

  test('a line splits into the argv iptables -D takes, quotes and escapes undone', () => {
    expect(ruleArgv('-A OUTPUT -m comment --comment "a \\"b\\" \\\\c" -j DROP')).toEqual(['-A', 'OUTPUT', '-m', 'comment', '--comment', 'a "b" \\c', '-j', 'DROP']);
    expect(ruleArgv('-A INPUT -m comment --comment plain:word -j DROP')).toEqual(['-A', 'INPUT', '-m', 'comment', '--comment', 'plain:word', '-j', 'DROP']);
    expect(() => ruleArgv('-A INPUT --comment "open')).toThrow(/unterminated quote/);
  });

  test("only the run's own rules are picked, each as chain + spec", () => {
    const rules = rulesWithComment(listing, 'faultline:fl-a:');
    expect(rules).toEqual([
      ['INPUT', '-s', '172.18.0.2/32', '-p', 'tcp', '-m', 'tcp', '--sport', '10001', '--tcp-flags', 'FIN', 'FIN', '-m', 'comment', '--comment', 'faultline:fl-a:lost-fin(storage-1):1', '-j', 'DROP'],
      ['OUTPUT', '-d', '172.18.0.2/32', '-m', 'statistic', '--mode', 'random', '--probability', '0.50000000000', '-m', 'comment', '--comment', 'faultline:fl-a:loss(web,\\x "q"):2', '-j', 'DROP'],
    ]);
    expect(rulesWithComment(listing, 'faultline:fl-b:')).toHaveLength(1);
    expect(rulesWithComment(listing, 'faultline:fl-c:')).toEqual([]);
  });
});

describe('container hardening', () => {
  test('every kind drops all capabilities, adds back only its own, and has pids and memory limits', () => {
    const expected: Record<ContainerKind, string[]> = {
      web: ['SETUID', 'SETGID', 'KILL'],
      app: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'SETUID', 'SETGID', 'KILL'],
      storage: [],
      toxiproxy: [],
      'net-admin': ['NET_ADMIN', 'NET_RAW'],
      ptrace: ['SYS_PTRACE', 'DAC_READ_SEARCH'],
    };
    for (const [kind, caps] of Object.entries(expected) as Array<[ContainerKind, string[]]>) {
      const host = hardenedHostConfig(hardeningFor(kind));
      expect({ kind, CapDrop: host.CapDrop, CapAdd: host.CapAdd, SecurityOpt: host.SecurityOpt }).toEqual({ kind, CapDrop: ['ALL'], CapAdd: caps, SecurityOpt: ['no-new-privileges'] });
      expect(host.PidsLimit).toBeGreaterThanOrEqual(64);
      expect(host.Memory).toBeGreaterThanOrEqual(128 * 1024 * 1024);
    }
    // The web's limits grow with its pool.
    expect(hardeningFor('web', { workers: 64 }).pidsLimit).toBeGreaterThan(hardeningFor('web', { workers: 8 }).pidsLimit);
    expect(sidecarHardening(['NET_ADMIN', 'SYS_PTRACE']).capabilities).toEqual(['NET_ADMIN', 'NET_RAW', 'SYS_PTRACE', 'DAC_READ_SEARCH']);
  });

  test("a user's overrides replace the defaults; bad ones are one-line usage errors naming the field", () => {
    const h = withOverrides(hardeningFor('app'), { capabilities: ['cap_net_bind_service', 'SYS_NICE'], pidsLimit: 100, memoryMiB: 300 }, 'webHardening');
    expect(h).toMatchObject({ capabilities: ['NET_BIND_SERVICE', 'SYS_NICE'], pidsLimit: 100, memoryMiB: 300 });
    expect(() => new Topology().withWebHardening({ capabilities: ['ALL'] })).toThrow(/^webHardening\.capabilities: "ALL" is refused/);
    expect(() => new Topology().withWebHardening({ capabilities: ['NET_BIND_SERVIC'] })).toThrow(/^webHardening\.capabilities: unknown capability "NET_BIND_SERVIC"/);
    expect(() => new Topology().withWebHardening({ pidsLimit: 0 })).toThrow(/^webHardening\.pidsLimit must be an integer/);
    expect(() => new Topology().withWebHardening({ memoryMiB: 1.5 })).toThrow(/^webHardening\.memoryMiB must be an integer/);
    for (const bad of [{ capabilities: ['ALL'] }, { pidsLimit: -1 }]) {
      expect(() => new Topology().withWebHardening(bad)).toThrow(expect.objectContaining({ code: 'FAULTLINE_USAGE' }));
    }
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

  it('one engine per process: a later start on another engine is refused, naming both; the same engine is fine', () => {
    const quiet = { write: () => true } as unknown as NodeJS.WritableStream;
    const target: NodeJS.ProcessEnv = {};
    const first = configureTestcontainers({ DOCKER_HOST: 'unix:///var/run/docker.sock' }, target, quiet);
    expect(configureTestcontainers({ DOCKER_HOST: 'unix:///var/run/docker.sock' }, target, quiet)).toBe(first);
    expect(() => configureTestcontainers({ DOCKER_HOST: 'tcp://docker:2375' }, target, quiet)).toThrow(
      /DOCKER_HOST=tcp:\/\/docker:2375, but this process's topologies run on DOCKER_HOST=unix:\/\/\/var\/run\/docker\.sock/,
    );
    expect(target.TESTCONTAINERS_HOST_OVERRIDE).toBe('127.0.0.1');
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
  test("the diagnoser's lookup names the service behind a proxy listener or an upstream address", () => {
    const at = (ip: string, port: number) => serviceFor(registry, { ip, port });
    expect(at('172.20.0.2', 10000)).toBe('profile');
    expect(at('172.20.0.2', 10001)).toBe('storage-1');
    expect(at('172.20.0.4', 9000)).toBe('storage-1');
    expect(at('::ffff:172.20.0.4', 9000)).toBe('storage-1');
    expect(at('172.20.0.2', 9999)).toBeUndefined();
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
