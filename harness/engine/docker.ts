import Docker from 'dockerode';
import { FaultlineError } from '../errors';
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

/** Client options from the given env's DOCKER_HOST (unix://PATH or tcp://HOST:PORT). */
export function dockerOptions(env: NodeJS.ProcessEnv): Docker.DockerOptions {
  const host = env.DOCKER_HOST;
  if (!host) return { socketPath: '/var/run/docker.sock' };
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const url = new URL(host.replace(/^tcp:/, env.DOCKER_TLS_VERIFY ? 'https:' : 'http:'));
  return { host: url.hostname, port: Number(url.port || 2375), protocol: url.protocol === 'https:' ? 'https' : 'http' };
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
