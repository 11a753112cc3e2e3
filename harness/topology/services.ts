import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { GenericContainer, Wait, type WaitStrategy } from 'testcontainers';
import { UsageError } from '../errors';
import { checkHardeningOverrides } from '../engine/hardening';
import { IMAGE_REF, type ImageName } from '../engine/images';
import { SERVICE_NAME, SERVICE_NAME_RULE } from './names';

/**
 * Where a service's container comes from:
 * - an image reference (`'redis:7'`, `'registry.example.com/team/api:1.4'`), pulled if missing;
 * - a Dockerfile directory (a string path that is a directory, or `{ dockerfile: dir }`), built with
 *   the same offline base (`ARG BASE`) and content-hash tags as `withWebDockerfile`;
 * - a testcontainers `GenericContainer` the user configured (its command, env, copies, wait ...);
 * - `{ bundled: name }`, one of faultline's own images (the demo storage node, the FPM stack's
 *   mariadb, redis and api).
 */
export type ServiceSource = string | { image: string } | { dockerfile: string; name?: string } | { bundled: ImageName } | GenericContainer;

/** Work run once the service is ready, before the app under test starts. */
export interface ServiceSeed {
  /** Files written into the container before it starts: container path -> content. */
  files?: Record<string, string>;
  /** A command run in the container once it is ready (argv, no shell unless you ask for one). */
  command?: string[];
  /** How long the command may take (default 60 s). */
  timeoutMs?: number;
}

export interface ServiceOptions {
  /** The port(s) the service listens on inside its container. The first is its main port. */
  port: number | number[];
  /** Environment of the service's own container. */
  env?: Record<string, string>;
  /**
   * How the app under test learns the service's address (through its Toxiproxy proxy): env var
   * name -> template, where `{host}`, `{port}` and `{addr}` (host:port) are the proxy's address
   * for the main port and `{port:N}` / `{addr:N}` the one for container port N.
   * Default: `{ FL_<NAME>_ADDR: '{addr}' }` (name upper-cased, `-` as `_`).
   */
  appEnv?: Record<string, string>;
  /** Readiness (a testcontainers wait strategy). Default: every port listening. */
  waitFor?: WaitStrategy;
  /** Files and a command to seed the service once ready (schema, fixtures ...). */
  seed?: ServiceSeed;
  /** Start limit for this service (default 60 s, within the topology's own limit). */
  startupTimeoutMs?: number;
  /**
   * The Linux capabilities the service needs, added back after every one is dropped. Default: the
   * usual needs of an image that starts as root and drops to a user (CHOWN, DAC_OVERRIDE, FOWNER,
   * SETUID, SETGID, KILL); `[]` for an image that runs as its user from the start.
   */
  capabilities?: string[];
  /**
   * Start the app under test only once this service is ready and seeded (default true): an app
   * that connects at boot finds it there.
   */
  beforeApp?: boolean;
}

export type ResolvedSource =
  | { kind: 'image'; ref: string }
  | { kind: 'dockerfile'; dir: string; name: string }
  | { kind: 'bundled'; image: ImageName }
  | { kind: 'container'; container: GenericContainer };

/** A service as declared: validated, with its source resolved to one kind. */
export interface ServiceDecl {
  name: string;
  source: ResolvedSource;
  ports: number[];
  env: Record<string, string>;
  appEnv: Record<string, string>;
  waitFor?: WaitStrategy;
  seed?: ServiceSeed;
  startupTimeoutMs: number;
  capabilities?: string[];
  beforeApp: boolean;
}

/** Names the topology itself uses for its own containers. */
const RESERVED = new Set(['web', 'toxiproxy', 'sidecar', 'network']);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TEMPLATE_TOKEN = /\{(host|port|addr)(?::(\d+))?\}/g;
const CAPABILITY = /^[A-Z_]{2,32}$/;

export function validateServiceName(name: unknown, where = 'withService'): string {
  if (typeof name !== 'string' || !SERVICE_NAME.test(name)) {
    throw new UsageError(
      `${where}(${JSON.stringify(name)}): name must be ${SERVICE_NAME_RULE} (it names containers, proxies and env vars)`,
    );
  }
  if (RESERVED.has(name)) throw new UsageError(`${where}("${name}"): name "${name}" is reserved for faultline's own containers; pick another`);
  return name;
}

/** The default env var that carries a service's address to the app: FL_<NAME>_ADDR. */
export function defaultAddrVar(name: string): string {
  return `FL_${name.toUpperCase().replace(/-/g, '_')}_ADDR`;
}

function resolveSource(name: string, source: ServiceSource): ResolvedSource {
  const where = `withService("${name}")`;
  if (source instanceof GenericContainer) return { kind: 'container', container: source };
  if (typeof source === 'string') {
    // A path that is a directory is a build context; anything else is an image reference.
    if (/^[./~]/.test(source) || (source.includes('/') && existsSync(source) && statSync(source).isDirectory())) {
      return dockerfileSource(name, resolve(source), undefined);
    }
    return imageSource(name, source);
  }
  if (source && typeof source === 'object') {
    if ('image' in source && typeof source.image === 'string') return imageSource(name, source.image);
    if ('dockerfile' in source && typeof source.dockerfile === 'string') return dockerfileSource(name, resolve(source.dockerfile), source.name);
    if ('bundled' in source && typeof source.bundled === 'string') return { kind: 'bundled', image: source.bundled };
  }
  throw new UsageError(`${where}: source must be an image reference, a Dockerfile directory, { bundled }, or a GenericContainer`);
}

function imageSource(name: string, ref: string): ResolvedSource {
  if (!IMAGE_REF.test(ref)) throw new UsageError(`withService("${name}"): source "${ref.slice(0, 80)}" is neither an image reference nor a directory`);
  return { kind: 'image', ref };
}

function dockerfileSource(name: string, dir: string, imageName: string | undefined): ResolvedSource {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`withService("${name}"): source directory ${dir} does not exist`);
  if (!existsSync(join(dir, 'Dockerfile'))) throw new UsageError(`withService("${name}"): source directory ${dir} has no Dockerfile`);
  return { kind: 'dockerfile', dir, name: imageName ?? basename(dir) };
}

function validatePorts(name: string, port: unknown): number[] {
  const ports = Array.isArray(port) ? port : [port];
  if (ports.length === 0) throw new UsageError(`withService("${name}"): port must name at least one port`);
  for (const p of ports) {
    if (!Number.isInteger(p) || (p as number) < 1 || (p as number) > 65535) {
      throw new UsageError(`withService("${name}"): port must be an integer from 1 to 65535, got ${JSON.stringify(p)}`);
    }
  }
  if (new Set(ports).size !== ports.length) throw new UsageError(`withService("${name}"): port lists ${JSON.stringify(ports)} with a duplicate`);
  return ports as number[];
}

function validateEnv(name: string, field: string, env: unknown): Record<string, string> {
  if (env === undefined) return {};
  if (typeof env !== 'object' || env === null || Array.isArray(env)) throw new UsageError(`withService("${name}"): ${field} must be an object of NAME: value strings`);
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_NAME.test(k)) throw new UsageError(`withService("${name}"): ${field} has an invalid variable name ${JSON.stringify(k)}`);
    if (typeof v !== 'string') throw new UsageError(`withService("${name}"): ${field}.${k} must be a string`);
  }
  return { ...(env as Record<string, string>) };
}

/** Checks a declaration and resolves it into the one shape the topology starts from. */
export function declareService(name: string, source: ServiceSource, opts: ServiceOptions): ServiceDecl {
  validateServiceName(name);
  if (!opts || typeof opts !== 'object') throw new UsageError(`withService("${name}"): options with at least { port } are required`);
  const ports = validatePorts(name, opts.port);
  const env = validateEnv(name, 'env', opts.env);
  const appEnv = validateEnv(name, 'appEnv', opts.appEnv ?? { [defaultAddrVar(name)]: '{addr}' });
  for (const [k, template] of Object.entries(appEnv)) {
    for (const m of template.matchAll(TEMPLATE_TOKEN)) {
      if (m[2] !== undefined && !ports.includes(Number(m[2]))) {
        throw new UsageError(`withService("${name}"): appEnv.${k} refers to port ${m[2]}, which is not in port ${JSON.stringify(ports)}`);
      }
    }
  }
  const capabilities = opts.capabilities;
  if (capabilities !== undefined) {
    if (!Array.isArray(capabilities)) throw new UsageError(`withService("${name}"): capabilities must be a list of capability names like ["SETUID", "SETGID"]`);
    for (const c of capabilities) {
      if (typeof c !== 'string' || !CAPABILITY.test(c)) throw new UsageError(`withService("${name}"): capabilities has an invalid capability ${JSON.stringify(c)} (e.g. "NET_BIND_SERVICE")`);
    }
    checkHardeningOverrides({ capabilities }, `withService("${name}").capabilities`);
  }
  const startupTimeoutMs = opts.startupTimeoutMs ?? 60_000;
  if (!Number.isInteger(startupTimeoutMs) || startupTimeoutMs < 1000) throw new UsageError(`withService("${name}"): startupTimeoutMs must be an integer >= 1000`);
  if (opts.seed?.command !== undefined && (!Array.isArray(opts.seed.command) || opts.seed.command.length === 0 || opts.seed.command.some((a) => typeof a !== 'string'))) {
    throw new UsageError(`withService("${name}"): seed.command must be a non-empty array of strings (argv)`);
  }
  return {
    name,
    source: resolveSource(name, source),
    ports,
    env,
    appEnv,
    waitFor: opts.waitFor,
    seed: opts.seed,
    startupTimeoutMs,
    capabilities: capabilities && [...capabilities],
    beforeApp: opts.beforeApp ?? true,
  };
}

/** The app's env for one service: its templates filled with the proxy's addresses. */
export function renderAppEnv(decl: ServiceDecl, proxyHost: string, proxyPortOf: (containerPort: number) => number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, template] of Object.entries(decl.appEnv)) {
    out[k] = template.replace(TEMPLATE_TOKEN, (_m, what: string, port?: string) => {
      const p = proxyPortOf(port === undefined ? decl.ports[0] : Number(port));
      return what === 'host' ? proxyHost : what === 'port' ? String(p) : `${proxyHost}:${p}`;
    });
  }
  return out;
}

/** Default readiness: every declared port listening. */
export function defaultWait(): WaitStrategy {
  return Wait.forListeningPorts();
}
