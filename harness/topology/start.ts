import type Docker from 'dockerode';
import { Wait, type StartedTestContainer } from 'testcontainers';
import { FaultlineError, UsageError } from '../errors';
import { connectDocker, hostPort } from '../engine/docker';
import { ImageStore } from '../engine/images';
import { newRun, ROLE_LABEL, type RunIdentity } from '../engine/labels';
import { cleanByLabel } from '../engine/cleanup';
import { execIn } from '../engine/sidecar';
import { monotonicMs, withTimeout } from '../util/time';
import { TOXIPROXY_ALIAS } from './constants';
import { configureTestcontainers, FaultlineContainer } from './container';
import { allServices, bundledImages, usesBundledWeb, type StartOptions, type TopologyOptions } from './options';
import { appEnvFor, createProxies } from './proxy-plan';
import { ServiceRegistry } from './registry';
import { defaultWait, type ServiceDecl } from './services';
import { StartedTopology, type StartedService, type StartedWeb } from './started';
import { Teardown } from './teardown';
import { StartedToxiproxy, toxiproxyContainer } from './toxiproxy';

/**
 * Starting a topology (Topology.start): every image first, then the network, Toxiproxy and its
 * proxies, the services and the app under test, each container registered on one teardown stack;
 * a start that fails halfway stops what it started. The images a service runs are resolved here
 * too (built, or pulled when missing).
 */

/** Starts everything in order; a start that fails halfway stops what it started, then rethrows. */
export async function startTopology(o: TopologyOptions, opts: StartOptions = {}): Promise<StartedTopology> {
  const env = opts.env ?? process.env;
  configureTestcontainers(env);
  const services = allServices(o);
  const docker = opts.docker ?? (await connectDocker(env)).docker;
  const run = opts.run ?? newRun();
  const images = opts.images ?? new ImageStore(docker, { onProgress: opts.onImageProgress, env });
  const say = opts.onProgress ?? (() => undefined);
  // Leftovers of runs whose process is gone (a kill -9, a CI timeout) go before we add ours.
  // Another run's leftovers that cannot go yet (a network whose containers another sweep is
  // still removing) are not this run's failure: the next sweep takes them.
  const swept = await cleanByLabel(docker).catch((e: Error) => {
    say(`leftovers of dead runs not swept yet: ${e.message.split('\n')[0]}`);
    return undefined;
  });
  if (swept && swept.containers.length + swept.networks.length > 0) {
    say(`swept leftovers of dead runs: ${swept.containers.length} containers, ${swept.networks.length} networks`);
  }
  // Every image first: a missing image or a failing build is reported before anything runs.
  const tags = await images.ensureAll(bundledImages(o));
  const webTag = await webImage(o, images, docker);
  const serviceImages = new Map<string, string>();
  for (const s of services) {
    if (s.source.kind !== 'container') serviceImages.set(s.name, await serviceImage(s, images, docker));
  }
  const started = monotonicMs();
  const teardown = new Teardown();
  const work = startInto(o, { docker, run, images, teardown, toolbox: tags.toolbox, toxiproxy: tags.toxiproxy, web: webTag, serviceImages, services, say, started });
  try {
    return await withTimeout(work, o.startTimeoutMs, 'topology start');
  } catch (e) {
    // Stop what exists (a container still waiting to be ready is removed by label, which ends
    // its wait), let in-flight steps settle (no new step starts once stopping), sweep again.
    await teardown.run(() => cleanByLabel(docker, { runId: run.runId })).catch(() => undefined);
    await withTimeout(work, 20_000, 'abandoned topology start').catch(() => undefined);
    await cleanByLabel(docker, { runId: run.runId }).catch(() => undefined);
    throw e instanceof FaultlineError
      ? e
      : new FaultlineError('FAULTLINE_TOPOLOGY_START_FAILED', `topology start failed: ${(e as Error).message}`, { cause: e });
  }
}

/** The image tag the web runs, built or pulled now. */
async function webImage(o: TopologyOptions, images: ImageStore, docker: Docker): Promise<string> {
  const w = o.web;
  if (w.kind === 'bundled') return images.ensure(w.image);
  if (w.kind === 'dockerfile') return images.ensureContext(w.dir, w.name);
  await ensureImageRef(docker, w.ref, 'withWebImage: image');
  return w.ref;
}

/** The network and every container, in order (the images are ready), as a StartedTopology. */
async function startInto(o: TopologyOptions, s: {
  docker: Docker;
  run: RunIdentity;
  images: ImageStore;
  teardown: Teardown;
  toolbox: string;
  toxiproxy: string;
  web: string;
  serviceImages: Map<string, string>;
  services: ServiceDecl[];
  say: (m: string) => void;
  started: number;
}): Promise<StartedTopology> {
  const { docker, teardown, say } = s;
  const { labels, runId } = s.run;
  // No container may wait for readiness past the topology's own deadline.
  const deadline = monotonicMs() + o.startTimeoutMs;
  const within = (ms: number) => Math.max(1000, Math.min(ms, deadline - monotonicMs()));

  say('network');
  const network = await docker.createNetwork({ Name: `faultline-${runId}`, Driver: 'bridge', Labels: labels, CheckDuplicate: true });
  teardown.push(() => network.remove());
  const networkId = network.id;

  const withRole = (role: string) => {
    teardown.assertOpen();
    return { ...labels, [ROLE_LABEL]: role };
  };
  // The containers go together and without a stop timeout: by the time the stack reaches them
  // every fault is healed and every check has read what it needs, so nothing waits on a
  // graceful exit (a 1 s timeout each, one after another, was ~1 s per container per run).
  const track = (c: StartedTestContainer) => {
    teardown.push(() => c.stop({ timeout: 0 }).then(() => undefined), 'containers');
    return c;
  };

  say('toxiproxy');
  const proxyContainer = track(
    await toxiproxyContainer(s.toxiproxy, within(30_000))
      .withSysctls(o.proxySysctls)
      .withNetworkMode(networkId)
      .withNetworkAliases(TOXIPROXY_ALIAS)
      .withLabels(withRole('toxiproxy'))
      .withName(`faultline-${runId}-toxiproxy`)
      .start(),
  );
  const toxiproxy = await StartedToxiproxy.connect(proxyContainer);
  const proxyIp = await inspectIp(docker, proxyContainer.getId(), networkId);

  // Proxies first (proxy-plan.ts): the app can be started at the same time as the services it reaches.
  const proxiesOf = await createProxies(toxiproxy, proxyIp, s.services);

  const startService = async (decl: ServiceDecl): Promise<StartedService> => {
    say(decl.name);
    const container = track(await serviceContainer(decl, s.serviceImages.get(decl.name))
      .withNetworkMode(networkId)
      .withNetworkAliases(decl.name)
      .withLabels(withRole(decl.name))
      .withName(`faultline-${runId}-${decl.name}`)
      .withExposedPorts(...decl.ports)
      .withStartupTimeout(within(decl.startupTimeoutMs))
      .start());
    if (decl.seed?.command) {
      say(`${decl.name}: seed`);
      const r = await execIn(docker, container.getId(), decl.seed.command, { timeoutMs: decl.seed.timeoutMs ?? 60_000 });
      if (r.exitCode !== 0) {
        throw new FaultlineError(
          'FAULTLINE_TOPOLOGY_START_FAILED',
          `withService("${decl.name}"): seed.command exited ${r.exitCode}: ${(r.stderr || r.stdout).trim().split('\n').slice(-2).join(' | ').slice(0, 300)}`,
        );
      }
    }
    const byPort = proxiesOf.get(decl.name)!;
    return {
      name: decl.name,
      container,
      internal: { host: await inspectIp(docker, container.getId(), networkId), port: decl.ports[0] },
      hostPort: container.getMappedPort(decl.ports[0]),
      proxy: byPort.get(decl.ports[0])!,
      proxies: byPort,
    };
  };

  const appEnv = appEnvFor(o, s.services, proxiesOf);
  const startWeb = async () => {
    say('web');
    return track(
      await new FaultlineContainer(s.web)
        .withRole(usesBundledWeb(o) ? 'web' : 'app', { workers: o.maxWorkers })
        .withHardening(o.webHardening ?? {}, 'webHardening')
        .withNetworkMode(networkId)
        .withNetworkAliases('web')
        .withLabels(withRole('web'))
        .withName(`faultline-${runId}-web`)
        .withEnvironment(appEnv)
        .withSysctls(o.webSysctls)
        .withExposedPorts(80)
        .withWaitStrategy(Wait.forHttp(o.webHealthPath, 80).forStatusCode(200))
        .withStartupTimeout(within(60_000))
        .start(),
    );
  };

  // Services the app needs at boot first; the demo backends start alongside the app.
  const early = s.services.filter((d) => d.beforeApp);
  const late = s.services.filter((d) => !d.beforeApp);
  const earlyStarted = settleAll(early.map(startService));
  const [webContainer, lateStarted] = await settleAll([
    earlyStarted.then(() => startWeb()),
    settleAll(late.map(startService)),
  ] as const);
  const byName = new Map<string, StartedService>();
  for (const svc of [...(await earlyStarted), ...lateStarted]) byName.set(svc.name, svc);
  const services = s.services.map((d) => byName.get(d.name)!);

  const web: StartedWeb = {
    container: webContainer,
    url: `http://${hostPort(webContainer.getHost(), webContainer.getMappedPort(80))}`,
    ip: await inspectIp(docker, webContainer.getId(), networkId),
    maxWorkers: o.maxWorkers,
  };
  const registry = new ServiceRegistry(services.flatMap((svc) =>
    [...svc.proxies.entries()].map(([port, proxy]) => ({
      name: svc.name,
      proxy,
      upstream: { container: svc.container.getName().replace(/^\//, ''), host: svc.internal.host, port },
    })),
  ));
  return new StartedTopology({
    docker,
    run: s.run,
    images: s.images,
    toolboxImage: s.toolbox,
    teardown,
    toxiproxy,
    web,
    services,
    registry,
    networkId,
    startMs: monotonicMs() - s.started,
  });
}

/** The container for a service, from whichever source it was declared with. */
function serviceContainer(decl: ServiceDecl, image: string | undefined): FaultlineContainer {
  let c: FaultlineContainer;
  if (decl.source.kind === 'container') {
    // The user's configured container keeps its settings; faultline's house rules (127.0.0.1
    // publication, its own network only) come with its class.
    c = FaultlineContainer.adopt(decl.source.container);
  } else {
    c = new FaultlineContainer(image!);
  }
  // A service is an app of its own (unknown needs) unless it says what it needs.
  if (decl.capabilities !== undefined) (c as FaultlineContainer).withHardening({ capabilities: decl.capabilities }, `withService("${decl.name}").capabilities`);
  if (Object.keys(decl.env).length > 0) c.withEnvironment(decl.env);
  if (decl.waitFor) c.withWaitStrategy(decl.waitFor);
  else if (decl.source.kind !== 'container') c.withWaitStrategy(defaultWait());
  if (decl.seed?.files) {
    c.withCopyContentToContainer(Object.entries(decl.seed.files).map(([target, content]) => ({ content, target })));
  }
  return c;
}

/** The image tag a service runs, built or pulled now: a failure names the service and the field. */
async function serviceImage(decl: ServiceDecl, images: ImageStore, docker: Docker): Promise<string> {
  const src = decl.source;
  try {
    if (src.kind === 'bundled') return await images.ensure(src.image);
    if (src.kind === 'dockerfile') return await images.ensureContext(src.dir, src.name);
    if (src.kind === 'image') {
      await ensureImageRef(docker, src.ref, `withService("${decl.name}"): source image`);
      return src.ref;
    }
  } catch (e) {
    if (e instanceof UsageError || (e instanceof FaultlineError && e.message.startsWith(`withService("${decl.name}")`))) throw e;
    const code = e instanceof FaultlineError ? e.code : 'FAULTLINE_IMAGE_BUILD_FAILED';
    throw new FaultlineError(code, `withService("${decl.name}"): source: ${(e as Error).message}`, { cause: e });
  }
  throw new Error(`unreachable: ${src.kind}`);
}

/** Pulls an image that is not present (bounded); a missing one is one line naming `what`. */
async function ensureImageRef(docker: Docker, ref: string, what: string): Promise<void> {
  try {
    await docker.getImage(ref).inspect();
    return;
  } catch (e) {
    if ((e as { statusCode?: number }).statusCode !== 404) throw e;
  }
  try {
    const stream = await withTimeout(docker.pull(ref) as Promise<NodeJS.ReadableStream>, 120_000, `pull of ${ref}`);
    await withTimeout(
      new Promise<void>((resolve, reject) => docker.modem.followProgress(stream, (err: Error | null) => (err ? reject(err) : resolve()))),
      600_000,
      `pull of ${ref}`,
    );
  } catch (e) {
    const reason = ((e as Error).message ?? String(e)).split('\n')[0].slice(0, 200);
    throw new FaultlineError('FAULTLINE_IMAGE_BUILD_FAILED', `${what} "${ref}" is not on this engine and cannot be pulled (${reason}): build or load it first`, { cause: e });
  }
}

/** Like Promise.all, but waits for every promise (so each started container gets registered for stop) before rethrowing the first error. */
async function settleAll<T extends readonly unknown[]>(promises: T): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(promises);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}

async function inspectIp(docker: Docker, containerId: string, networkId: string): Promise<string> {
  const info = await docker.getContainer(containerId).inspect();
  for (const net of Object.values(info.NetworkSettings.Networks)) {
    if (net.NetworkID === networkId && net.IPAddress) return net.IPAddress;
  }
  throw new Error(`container ${containerId.slice(0, 12)} has no address on network ${networkId.slice(0, 12)}`);
}
