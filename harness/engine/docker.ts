import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
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
 * Whether the engine runs on another machine (a `tcp://` DOCKER_HOST that is not loopback: a
 * GitLab `docker:dind` service, a remote or TLS engine). Its published ports are then on its host,
 * not on this machine's 127.0.0.1.
 */
export function isRemoteEngine(env: NodeJS.ProcessEnv): boolean {
  const { host } = dockerOptions(env);
  return host !== undefined && !LOOPBACK.has(host);
}

/**
 * The address where the engine's published ports answer, as testcontainers resolves it: this
 * machine's 127.0.0.1 for a local engine, the DOCKER_HOST's host for a remote one.
 */
export function engineHost(env: NodeJS.ProcessEnv): string {
  return isRemoteEngine(env) ? dockerOptions(env).host! : '127.0.0.1';
}

/**
 * The HostIp published ports bind to: 127.0.0.1 on a local engine (nothing beyond loopback), and
 * the engine's default (every interface of its host) on a remote one, where 127.0.0.1 would be the
 * remote host's own loopback, which faultline cannot reach.
 */
export function publishHostIp(env: NodeJS.ProcessEnv): string {
  return isRemoteEngine(env) ? '' : '127.0.0.1';
}

/** "host:port" for a URL (IPv6 addresses in brackets). */
export function hostPort(host: string, port: number): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * TLS client material for a `tcp://` engine with DOCKER_TLS_VERIFY set, read from DOCKER_CERT_PATH
 * (ca.pem, cert.pem, key.pem; ~/.docker when unset, as the docker CLI does). Testcontainers reads
 * the same files (it needs DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH set).
 */
export function tlsOptions(env: NodeJS.ProcessEnv): Pick<Docker.DockerOptions, 'ca' | 'cert' | 'key'> {
  if (!env.DOCKER_TLS_VERIFY || !env.DOCKER_HOST?.startsWith('tcp://')) return {};
  const dir = env.DOCKER_CERT_PATH || join(homedir(), '.docker');
  const files = ['ca.pem', 'cert.pem', 'key.pem'].map((f) => join(dir, f));
  const missing = files.filter((f) => !existsSync(f));
  if (missing.length > 0) {
    throw new UsageError(
      `DOCKER_TLS_VERIFY is set for DOCKER_HOST=${env.DOCKER_HOST}, but ${missing.join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist: ` +
        'set DOCKER_CERT_PATH to the directory holding the engine\'s ca.pem, cert.pem and key.pem, or unset DOCKER_TLS_VERIFY for a plain tcp engine',
    );
  }
  const [ca, cert, key] = files.map((f) => readFileSync(f));
  return { ca, cert, key };
}

/** What to check when a DOCKER_HOST set by the user does not answer as a Docker engine. */
function hostFailure(env: NodeJS.ProcessEnv, e: unknown): UsageError {
  const err = e as NodeJS.ErrnoException & { statusCode?: number };
  const reason = err.code === 'FAULTLINE_TIMEOUT' ? 'no answer within 5 s' : (err.code ?? (err.statusCode ? `HTTP ${err.statusCode}` : err.message));
  const tls = /SSL|TLS|EPROTO|CERT|certificate|self.signed|wrong version/i.test(`${err.code ?? ''} ${err.message ?? ''}`);
  // A TLS port drops a plain HTTP request without an HTTP answer.
  const noHttpAnswer = !env.DOCKER_TLS_VERIFY && (err.code === 'ECONNRESET' || err.code?.startsWith('HPE_') === true);
  const check = noHttpAnswer
    ? 'it gave no HTTP answer: if the engine speaks TLS there (port 2376), set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH; otherwise check the host and port'
    : tls
    ? env.DOCKER_TLS_VERIFY
      ? 'check DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem of that engine) and that the engine listens with TLS on that port'
      : 'the engine speaks TLS there: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH, or use its plain port (2375)'
    : err.statusCode !== undefined || reason === 'not a Docker engine'
      ? 'something answers there, but it is not a Docker engine API: check the host and port'
      : 'check that the engine runs, listens on that address and port (dockerd -H tcp://0.0.0.0:2375), and that no firewall is in the way';
  return new UsageError(`DOCKER_HOST=${env.DOCKER_HOST} does not answer as a Docker engine (${reason}): ${check}`);
}

/**
 * A Docker client that is known to answer. Fails with FAULTLINE_DOCKER_UNAVAILABLE (one line,
 * saying how to start an engine) when none does. `env` is a parameter, never read from globals.
 */
export async function connectDocker(env: NodeJS.ProcessEnv = process.env): Promise<{ docker: Docker; info: EngineInfo }> {
  const docker = new Docker({ ...dockerOptions(env), ...tlsOptions(env) });
  try {
    const version = await withTimeout(docker.version(), 5000, 'docker engine version check');
    if (typeof version?.ApiVersion !== 'string') throw new Error('not a Docker engine');
    return {
      docker,
      info: { serverVersion: version.Version, apiVersion: version.ApiVersion, socket: describeEndpoint(env) },
    };
  } catch (e) {
    // A tcp:// engine the user named is bad input (exit 2) that names DOCKER_HOST and what to check.
    if (env.DOCKER_HOST?.startsWith('tcp://')) throw hostFailure(env, e);
    const reason = (e as NodeJS.ErrnoException).code ?? (e as Error).message;
    throw new FaultlineError(
      'FAULTLINE_DOCKER_UNAVAILABLE',
      `no Docker engine answers at ${describeEndpoint(env)} (${reason}): ${HOW_TO_START}`,
      { cause: e },
    );
  }
}
