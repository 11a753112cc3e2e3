import Docker from 'dockerode';
import { FaultlineError, UsageError } from '../errors';
import { withTimeout } from '../util/time';

export interface EngineInfo {
  serverVersion: string;
  apiVersion: string;
  socket: string;
}

const HOW_TO_START =
  'start one: on Debian/Ubuntu `sudo apt-get install -y docker.io && sudo dockerd &` ' +
  '(or `bash scripts/ensure-docker.sh` in this repo), or set DOCKER_HOST to a running engine';

function describeEndpoint(env: NodeJS.ProcessEnv): string {
  return env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

const DOCKER_HOST_FORMS = 'use unix:///path/to/docker.sock or tcp://host:port, or unset it for /var/run/docker.sock';

/**
 * Client options from the given env's DOCKER_HOST (unix://PATH or tcp://HOST[:PORT]; empty means
 * unset, as for the docker CLI). Anything else is bad input: a UsageError naming DOCKER_HOST.
 */
export function dockerOptions(env: NodeJS.ProcessEnv): Docker.DockerOptions {
  const host = env.DOCKER_HOST;
  if (!host) return { socketPath: '/var/run/docker.sock' };
  const bad = (why: string) => new UsageError(`DOCKER_HOST=${host.length > 80 ? `${host.slice(0, 80)}…` : host} ${why}: ${DOCKER_HOST_FORMS}`);
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath.startsWith('/')) throw bad('needs an absolute socket path');
    return { socketPath };
  }
  if (!host.startsWith('tcp://')) throw bad('is not an engine address');
  let url: URL;
  try {
    url = new URL(host.replace(/^tcp:/, 'http:'));
  } catch {
    throw bad('is not a valid tcp:// address');
  }
  if (!url.hostname) throw bad('names no host');
  if (url.username || url.password || url.search || url.hash || (url.pathname !== '/' && url.pathname !== '')) throw bad('has more than a host and a port');
  // URL itself rejects ports above 65535; port 0 would be no engine at all.
  if (url.port === '0') throw bad('has port 0');
  return { host: url.hostname, port: Number(url.port || 2375), protocol: env.DOCKER_TLS_VERIFY ? 'https' : 'http' };
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * faultline publishes every port on 127.0.0.1, so a run needs the engine on this machine: a
 * DOCKER_HOST elsewhere is bad input (UsageError, exit 2). Images, clean and diagnose do not
 * publish ports and do not call this.
 */
export function assertLocalEngine(env: NodeJS.ProcessEnv): void {
  const { host } = dockerOptions(env);
  if (host !== undefined && !LOOPBACK.has(host)) {
    throw new UsageError(
      `DOCKER_HOST=${env.DOCKER_HOST} is an engine on another machine, but faultline publishes ports on 127.0.0.1 only: ` +
        'run faultline on the machine (or in the network namespace) where the engine runs, or unset DOCKER_HOST',
    );
  }
}

/**
 * A Docker client that is known to answer. Fails with FAULTLINE_DOCKER_UNAVAILABLE (one line,
 * saying how to start an engine) when none does. `env` is a parameter, never read from globals.
 */
export async function connectDocker(env: NodeJS.ProcessEnv = process.env): Promise<{ docker: Docker; info: EngineInfo }> {
  const docker = new Docker(dockerOptions(env));
  try {
    const version = await withTimeout(docker.version(), 5000, 'docker engine version check');
    return {
      docker,
      info: { serverVersion: version.Version, apiVersion: version.ApiVersion, socket: describeEndpoint(env) },
    };
  } catch (e) {
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new FaultlineError(
      'FAULTLINE_DOCKER_UNAVAILABLE',
      `no Docker engine answers at ${describeEndpoint(env)} (${reason}): ${HOW_TO_START}`,
      { cause: e },
    );
  }
}
