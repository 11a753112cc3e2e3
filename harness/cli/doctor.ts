import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type Docker from 'dockerode';
import { isFaultlineError } from '../errors';
import { connectDocker, engineHost, hostPort, isRemoteEngine, publishHostIp } from '../engine/docker';
import { ImageStore } from '../engine/images';
import { hardenedHostConfig, hardeningFor } from '../engine/hardening';
import { newRun, ownerIsGone, ROLE_LABEL, RUN_LABEL } from '../engine/labels';
import { waitFor } from '../util/time';
import { checkEngineEnv, noPositionals, parseFlags } from './args';
import type { CliIO } from './io';

interface Check {
  name: string;
  ok: boolean;
  detail: string;
  fix?: string;
}

export const DOCTOR_HELP = `Usage: faultline doctor [--json]

Checks what a run needs — a Docker engine and its API version, whether it is local (ports on
127.0.0.1) or remote (ports on its host), the images (or what building them offline needs), iptables
in a NET_ADMIN sidecar, a published port answering from here, leftovers of dead runs — and says what
to do about each missing piece. Exit 0 when everything is ready, 1 otherwise.`;

/** Whether an executable named `cmd` is on PATH (looked up here: no shell string). */
function hasTool(cmd: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', cmd), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

async function registryReachable(docker: Docker, ref: string): Promise<boolean> {
  // The distribution endpoint asks the registry for the manifest without pulling anything.
  return docker
    .getImage(ref)
    .distribution()
    .then(() => true)
    .catch(() => false);
}

async function iptablesInSidecar(docker: Docker, image: string): Promise<Check> {
  const c = await docker.createContainer({
    Image: image,
    Cmd: ['sh', '-c', 'iptables -w -A OUTPUT -p tcp --dport 9 --tcp-flags FIN FIN -j DROP -m comment --comment faultline:doctor && iptables -w -A OUTPUT -m statistic --mode random --probability 0.5 -p tcp --dport 9 -j DROP && iptables -S OUTPUT'],
    // A run identity like any other: if doctor is killed mid-check, the next sweep removes it.
    Labels: { ...newRun('doctor').labels, [ROLE_LABEL]: 'doctor' },
    HostConfig: { ...hardenedHostConfig(hardeningFor('net-admin')), NetworkMode: 'none' },
  });
  try {
    await c.start();
    const { StatusCode } = await c.wait();
    const logs = (await c.logs({ stdout: true, stderr: true })).toString('utf8');
    return StatusCode === 0
      ? { name: 'iptables', ok: true, detail: 'FIN-drop and random-loss rules work in a NET_ADMIN sidecar' }
      : { name: 'iptables', ok: false, detail: `iptables failed in a NET_ADMIN sidecar: ${logs.trim().split('\n').pop()}`, fix: 'the host kernel needs the iptables (legacy) modules: `modprobe ip_tables iptable_filter xt_statistic xt_comment`' };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

/**
 * On a local engine every port faultline publishes binds to 127.0.0.1: a job that runs in a sibling
 * container of the engine (socket mounted in) cannot reach them. On a remote engine they are
 * published on its host and must answer there from here. Publishes Toxiproxy's control port the
 * way a run does and asks it.
 */
async function portsAnswer(docker: Docker, image: string, env: NodeJS.ProcessEnv): Promise<Check> {
  const host = engineHost(env);
  const c = await docker.createContainer({
    Image: image,
    ExposedPorts: { '8474/tcp': {} },
    Labels: { ...newRun('doctor').labels, [ROLE_LABEL]: 'doctor' },
    HostConfig: { ...hardenedHostConfig(hardeningFor('toxiproxy')), PortBindings: { '8474/tcp': [{ HostIp: publishHostIp(env), HostPort: '' }] } },
  });
  try {
    await c.start();
    const port = (await c.inspect()).NetworkSettings.Ports['8474/tcp']?.[0]?.HostPort;
    let last = 'no port was published';
    if (port) {
      try {
        const at = hostPort(host, Number(port));
        await waitFor(async () => ((await fetch(`http://${at}/version`, { signal: AbortSignal.timeout(1000) })).ok ? true : undefined), {
          timeoutMs: 5000,
          what: `GET ${at}/version`,
        });
        return { name: 'ports', ok: true, detail: `a port published on ${at} answers` };
      } catch (e) {
        // The last connection error (ECONNREFUSED, ECONNRESET …), else waitFor's own timeout.
        const cause = (e as Error & { cause?: Error & { cause?: { code?: string } } }).cause;
        last = cause?.cause?.code ?? cause?.message ?? (e as Error).message;
      }
    }
    return {
      name: 'ports',
      ok: false,
      detail: `a port published on ${host}${port ? `:${port}` : ''} does not answer here (${last})`,
      fix: isRemoteEngine(env)
        ? `the engine is remote: its published ports must be reachable from here at ${host} (a firewall, or a DOCKER_HOST that is a tunnel or proxy rather than the engine's own address)`
        : 'run faultline in the network namespace of the engine (on its host, or with --network host when faultline itself runs in a container)',
    };
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

/** Which case applies: where published ports go, and where faultline reaches them. */
function engineLocation(env: NodeJS.ProcessEnv): Check {
  return isRemoteEngine(env)
    ? { name: 'engine location', ok: true, detail: `remote (DOCKER_HOST=${env.DOCKER_HOST}): ports are published on ${engineHost(env)} and reached there` }
    : { name: 'engine location', ok: true, detail: 'local: ports are published on 127.0.0.1 only' };
}

export async function doctorCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags('doctor', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.stdout.write(`${DOCTOR_HELP}\n`);
    return 0;
  }
  noPositionals('doctor', positionals);
  // A malformed DOCKER_HOST or image override is bad input (exit 2), not a failed check.
  checkEngineEnv(io.env);
  const checks: Check[] = [];
  checks.push(engineLocation(io.env));
  let docker: Docker | undefined;
  try {
    const c = await connectDocker(io.env);
    docker = c.docker;
    const api = Number(c.info.apiVersion);
    checks.push({
      name: 'engine',
      ok: api >= 1.41,
      detail: `Docker ${c.info.serverVersion} (API ${c.info.apiVersion}) at ${c.info.socket}`,
      fix: api >= 1.41 ? undefined : 'faultline needs Docker API >= 1.41 (Docker 20.10 or newer)',
    });
  } catch (e) {
    checks.push({ name: 'engine', ok: false, detail: isFaultlineError(e) ? e.message : String(e), fix: 'start a Docker engine (see above)' });
  }

  if (docker) {
    const store = new ImageStore(docker, { env: io.env });
    const images = await store.list();
    const missing = images.filter((i) => !i.present);
    checks.push({
      name: 'images',
      ok: missing.length === 0,
      detail: missing.length === 0 ? `all ${images.length} present (${images.map((i) => `${i.name}: ${i.source}`).join(', ')})` : `missing: ${missing.map((i) => i.name).join(', ')}`,
      fix: missing.length ? 'run `faultline images build` (cold: a few minutes), or let the first run build them' : undefined,
    });
    if (missing.length) {
      const online = await registryReachable(docker, store.pullRef('base'));
      if (online) {
        checks.push({ name: 'registry', ok: true, detail: 'reachable: base and toxiproxy images will be pulled' });
      } else {
        const root = process.getuid?.() === 0;
        const needs = [
          ...(missing.some((i) => i.name !== 'toxiproxy') && !hasTool('debootstrap') ? ['debootstrap (`apt-get install debootstrap`)'] : []),
          ...(missing.some((i) => i.name !== 'toxiproxy') && !root ? ['root (debootstrap)'] : []),
          ...(missing.some((i) => i.name === 'toxiproxy') && !hasTool('go') ? ['Go >= 1.22 (to build Toxiproxy from its module)'] : []),
        ];
        checks.push({
          name: 'offline build',
          ok: needs.length === 0,
          detail: needs.length === 0 ? 'no registry: images will be built offline (debootstrap, go install)' : `no registry, and the offline build needs ${needs.join(', ')}`,
          fix: needs.length ? `install ${needs.join(', ')}, or make a registry reachable` : undefined,
        });
      }
    }
    const toolbox = images.find((i) => i.name === 'toolbox');
    if (toolbox?.present) checks.push(await iptablesInSidecar(docker, toolbox.tag));
    else checks.push({ name: 'iptables', ok: true, detail: 'not checked yet: the toolbox image is missing (checked once it is built)' });
    const toxiproxy = images.find((i) => i.name === 'toxiproxy');
    if (toxiproxy?.present) checks.push(await portsAnswer(docker, toxiproxy.tag, io.env));
    else checks.push({ name: 'ports', ok: true, detail: 'not checked yet: the toxiproxy image is missing (checked once it is built)' });

    const leftovers = (await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } })).filter((c) => ownerIsGone(c.Labels));
    checks.push({
      name: 'leftovers',
      ok: leftovers.length === 0,
      detail: leftovers.length === 0 ? 'no containers of dead runs' : `${leftovers.length} containers of dead runs`,
      fix: leftovers.length ? 'run `faultline clean` (every run also sweeps them when it starts)' : undefined,
    });
  }

  if (values.json) io.stdout.write(`${JSON.stringify({ ok: checks.every((c) => c.ok), checks })}\n`);
  else {
    for (const c of checks) {
      io.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'}  ${c.name}: ${c.detail}\n`);
      if (c.fix) io.stdout.write(`      fix: ${c.fix}\n`);
    }
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}
