/**
 * From an incident to a regression test: writes a scenario file that reproduces a diagnosis on
 * faultline's topology, as `faultline diagnose --emit-scenario` and `faultline scenario from`
 * print it. What is carried over:
 * - the pool size (workers, capped so the scenario's reloads can still fill the pool);
 * - the lock: a kernel file lock (flock/POSIX: a PHP file session) -> the bundled Apache/PHP app,
 *   which holds its session flock across the upstream call; a polled lock kept in a cache
 *   (phpredis' session lock) -> the bundled nginx + PHP-FPM stack; no lock -> the Apache app with
 *   the lock released before the call;
 * - the culprit's kind, mapped to the fault that produces it (KIND_FAULTS below);
 * - the upstream, as a service named like the observed one, a bundled image standing in for it.
 * Each mapping was chosen from what the bundled scenarios measure (scenarios/*.ts); the file says
 * which one it used, so a user can change it.
 */
import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { UsageError } from '../errors';
import { validateServiceName } from '../topology/service-name';

/** The fields of a diagnosis (JSON, from any faultline version) the emitter reads. */
interface Observed {
  verdict?: string;
  culprit?: {
    pid?: number;
    command?: string;
    kind?: string;
    syscall?: string | null;
    resource?: { type?: string; service?: string; remote?: string; timer?: string; txQueue?: number };
    holds?: Array<{ type?: string; access?: string; path?: string }>;
    waiters?: number[];
  } | null;
  chains?: Array<{ culprit?: boolean; links?: Array<{ inferred?: string; lock?: { type?: string } }> }>;
  processes?: Array<{ role?: string }>;
}

export type LockShape = 'file' | 'polled' | 'none';
/** Which request of the bundled app meets the fault: a read of the upstream, or a large write to it. */
type Path = 'read' | 'write';

interface FaultPlan {
  /** The call in the emitted file, `SERVICE` standing for the service constant. */
  call: string;
  imports: string[];
  path: Path;
  why: string;
  /** Other faults that produce the same kind, named in a comment. */
  alternatives?: string;
  /** Keep the write in flight (a trickle) before the fault lands. */
  inFlight?: boolean;
  /** Seed a large answer, so that a trickle lasts (a one-line profile would arrive at once). */
  bigAnswer?: boolean;
}

/**
 * Kind -> fault. The old names (half-open-read, stalled-write) are accepted as the shared contract
 * says: stalled-write is split by its timer (retransmit: unreachable; zero-window probe: not reading).
 */
function faultFor(kind: string, resource: NonNullable<Observed['culprit']>['resource'], lock: LockShape): FaultPlan {
  const k = kind === 'half-open-read' ? 'silent-peer' : kind === 'stalled-write' ? (/retrans/i.test(resource?.timer ?? '') ? 'unreachable-peer' : 'peer-not-reading') : kind;
  switch (k) {
    case 'silent-peer':
      // The FPM page calls the upstream over HTTP (curl): replies lost is the silent peer there.
      return lock === 'polled'
        ? { call: 'repliesLost(SERVICE)', imports: ['repliesLost'], path: 'read', why: "the upstream's replies (and its FIN/RST) stop reaching the app: the worker reads a silent peer", alternatives: 'lostFin(SERVICE) (only the FIN lost)' }
        : { call: 'lostFin(SERVICE)', imports: ['lostFin'], path: 'read', why: "the upstream's FIN is dropped (iptables in the app's netns): the worker reads a half-open connection", alternatives: 'repliesLost(SERVICE) (every reply lost, as after a failover)' };
    case 'unreachable-peer':
      // A partition must land while bytes are in flight (else the next connect stalls instead):
      // a bandwidth toxic keeps the upload's write going until it does (see the run below).
      return { call: 'partition(SERVICE)', imports: ['partition', 'toxic'], path: 'write', why: 'every packet to and from the upstream dropped while the app is writing to it: its bytes stay unacknowledged', inFlight: true };
    case 'peer-not-reading':
      return { call: 'pauseNode(SERVICE)', imports: ['pauseNode'], path: 'write', why: 'the upstream frozen (docker pause) while the app writes to it: its receive window closes' };
    case 'slow-peer':
      return lock === 'polled'
        ? { call: "toxic(SERVICE, 'bandwidth', { rate: 1 }, { stream: 'downstream' })", imports: ['toxic'], path: 'read', why: 'the upstream answers at 1 KB/s (Toxiproxy bandwidth): bytes trickle, per-operation timeouts never fire' }
        : { call: "toxic(SERVICE, 'bandwidth', { rate: 1 }, { stream: 'downstream' })", imports: ['toxic'], path: 'read', why: "the upstream's 64 KiB answer trickles at 1 KB/s (Toxiproxy bandwidth): bytes keep coming, per-operation timeouts never fire", bigAnswer: true };
    case 'connect-stall':
      return { call: 'synBlackhole(SERVICE)', imports: ['synBlackhole'], path: 'read', why: "SYNs to the upstream dropped (iptables in the app's netns): connect() never completes" };
    default:
      throw new UsageError(
        `the culprit's kind ${kind} is not a network fault faultline's topology reproduces (silent-peer, unreachable-peer, peer-not-reading, slow-peer and connect-stall are): write this scenario by hand`,
      );
  }
}

export function lockShape(d: Observed): LockShape {
  const holds = d.culprit?.holds ?? [];
  const inferred = (d.chains ?? []).some((c) => c.culprit && (c.links ?? []).some((l) => l.inferred || /polled|redis/i.test(l.lock?.type ?? '')));
  if (holds.some((h) => /polled|redis/i.test(h.type ?? '')) || inferred) return 'polled';
  if (holds.some((h) => /^(FLOCK|POSIX|OFDLCK)$/i.test(h.type ?? ''))) return 'file';
  return 'none';
}

/**
 * Workers in the observed pool: the culprit, its waiters and the idle workers (a master process is
 * `other`), or, for a pile-up without a lock (where the workers stuck on the same upstream are
 * `other` too), the culprit and the workers it names as waiting beside it.
 */
export function poolSize(d: Observed): number {
  const workers = (d.processes ?? []).filter((p) => p.role && p.role !== 'other').length;
  return Math.max(workers, (d.culprit?.waiters?.length ?? 0) + 1);
}

/**
 * The scenario's reloads (one every 500 ms over the 10 s observe window) fill at most this many
 * workers: a larger pool would stay responsive under them and the incident would not reproduce.
 */
export const MAX_EMITTED_WORKERS = 16;

/** An observed name as a topology service name (lower-case, dashes), or `upstream`. */
export function serviceName(observed: string | undefined, taken: readonly string[] = []): string {
  let name = (observed ?? '').toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^[^a-z]+/, '').replace(/-+$/, '').slice(0, 31).replace(/-+$/, '');
  try {
    validateServiceName(name);
  } catch {
    name = 'upstream';
  }
  if (taken.includes(name)) name = `${name.slice(0, 22)}-upstream`;
  return name;
}

const camel = (s: string) => s.replace(/-([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
const str = (s: string) => JSON.stringify(s);
/** Scenario summaries and `shows` are one line of at most 300 characters (the schema). */
const oneLine = (s: string) => JSON.stringify(s.replace(/\s+/g, ' ').slice(0, 300));
/** Text from the observed host inside a block comment: no `*\/` can end it early. */
const commentSafe = (s: string) => s.replace(/\*\//g, '* /').replace(/[\r\n]+/g, ' ');

export interface EmitMeta {
  /** What was observed, for the header: `diagnose --match apache2 on web-3 at …`. */
  observedOn: string;
  /** The command that wrote the file. */
  generator: string;
  /** The import specifier of faultline (default: the installed package). */
  from?: string;
}

export interface EmittedScenario {
  text: string;
  name: string;
  service: string;
  kind: string;
  lock: LockShape;
  workers: number;
}

export function emitScenario(diagnosis: unknown, meta: EmitMeta): EmittedScenario {
  const d = (typeof diagnosis === 'object' && diagnosis !== null ? diagnosis : {}) as Observed;
  const c = d.culprit;
  if (d.verdict !== 'stuck' || !c || typeof c.kind !== 'string') {
    throw new UsageError(`the diagnosis is ${d.verdict ?? 'not a diagnosis'}${d.verdict === 'stuck' ? ' without a culprit' : ''}: a scenario is emitted only for a stuck pool with a named culprit`);
  }
  const lock = lockShape(d);
  const plan = faultFor(c.kind, c.resource, lock);
  const observedService = c.resource?.service;
  const service = serviceName(observedService ?? undefined, lock === 'polled' ? ['redis', 'mariadb'] : []);
  const observedWorkers = poolSize(d);
  const workers = Math.max(2, Math.min(MAX_EMITTED_WORKERS, observedWorkers));
  const name = `incident-${service}-${c.kind}`.slice(0, 60).replace(/-+$/, '');
  const exportName = camel(name.replace(/^incident-/, 'incident-'));
  const from = meta.from ?? 'faultline';
  const peer = c.resource?.remote ? ` (${c.resource.remote})` : '';
  const summaryLine = `${c.kind}: pid ${c.pid ?? '?'} (${c.command ?? '?'}) in ${c.syscall ?? 'no syscall'}, ${c.waiters?.length ?? 0} waiting behind it`;
  const lockText = { file: 'a kernel file lock (flock/POSIX), as a PHP file session takes', polled: 'a lock polled in a cache (as phpredis keeps a session lock in Redis)', none: 'no lock: workers pile up on the upstream one by one' }[lock];
  const workersNote =
    observedWorkers > workers
      ? `\n * Pool: ${observedWorkers} workers observed; the scenario runs ${workers}, which one user's reloads\n * (every 500 ms for 10 s) can fill: raise both together to model the whole pool.`
      : `\n * Pool: ${observedWorkers} workers observed${observedWorkers < workers ? ` (the topology's minimum is ${workers})` : ''}.`;
  const header = `/**
 * A regression test for an incident faultline diagnosed, written by \`${commentSafe(meta.generator)}\`.
 * Observed: ${commentSafe(meta.observedOn)}
 *   ${commentSafe(summaryLine)}
 *   upstream ${commentSafe(observedService ?? 'unnamed')}${commentSafe(peer)}; lock: ${lockText}${workersNote}
 * Reproduced on faultline's topology: ${plan.why}.${plan.alternatives ? `\n * The same kind also comes from ${plan.alternatives}.` : ''}
 *
 *   npx faultline run <this file>      incident: hung, culprit ${c.kind} on ${service}; fixed: responsive
 */`;

  let body: string;
  if (lock === 'polled') {
    body = `import { ${[...plan.imports, 'type Scenario'].join(', ')} } from ${str(from)};

/**
 * The observed upstream ${str(observedService ?? 'unnamed')}${commentSafe(peer)}. Stand-in: faultline's bundled HTTP API
 * (containers/api), called by the PHP-FPM app's /api.php with curl. To run against your own
 * service, replace \`{ bundled: 'api' }\` with its image or Dockerfile directory and its port
 * (README, "Your own stack"); the app finds it through FL_API_ADDR.
 */
const SERVICE = ${str(service)};

export const ${exportName}: Scenario = {
  name: ${str(name)},
  summary: ${oneLine(`reproduces ${c.kind} on ${service}: ${plan.why}`)},
  shows: ${oneLine(`the incident observed on ${commentSafe(meta.observedOn)}: a worker blocked on ${service} holding a session lock polled in Redis, the pool filling behind it`)},
  variants: {
    incident: { expected: 'hung', culprit: { service: SERVICE, kind: ${str(c.kind)} } },
    fixed: { expected: 'responsive' },
  },
  // PHP-FPM's master and workers (idle ones wait in accept on the FPM socket).
  workers: { comm: 'php-fpm8.2', match: /php-fpm/ },
  // nginx + PHP-FPM with sessions in Redis (phpredis, session locking on), as faultline's fpm stack.
  topology: (t) =>
    t
      .withBundledWeb('fpm', { healthPath: '/health.php' })
      .withMaxWorkers(${workers})
      .withoutDemoServices()
      .withService('mariadb', { bundled: 'mariadb' }, { port: 3306, capabilities: [] })
      .withService('redis', { bundled: 'redis' }, { port: 6379, capabilities: [] })
      .withService(SERVICE, { bundled: 'api' }, { port: 8080, capabilities: [], appEnv: { FL_API_ADDR: '{addr}' } }),
  async run(ctx) {
    const page = { kind: 'api', path: '/api.php' };
    await ctx.phase('steady', async () => {
      for (const user of ['alice', 'bob']) {
        const r = await ctx.user(user).request({ ...page, deadlineMs: 5000 });
        if (r.outcome !== 'ok') throw new Error(\`steady state not reached: \${user}'s \${page.path} answered \${r.status ?? r.error}\`);
      }
      await ctx.sleep(1500);
    });
    const fault = await ctx.phase('inject', () => ctx.inject(${plan.call}));
    await ctx.phase('observe', async () => {
      // alice gives up after 2 s and reloads, as a browser user does: each reload polls the lock.
      const reloads = ctx.loop({ ...page, deadlineMs: 2000 }, 500, ctx.user('alice'));
      await ctx.sleep(8000);
      await ctx.diagnose();
      await ctx.sleep(2000);
      await reloads.stop();
    });
    await ctx.phase('heal', () => fault.heal());
  },
};
`;
  } else if (plan.path === 'read' && lock === 'none') {
    body = `import { ${[...plan.imports, 'steadyState', 'type Scenario'].join(', ')} } from ${str(from)};

/**
 * The observed upstream ${str(observedService ?? 'unnamed')}${commentSafe(peer)}. Stand-in: faultline's bundled storage
 * node (containers/storage), a line server the web app's /profile.php reads \`GET profile:<user>\`
 * from. To run against your own service, replace \`{ bundled: 'storage' }\` with its image or
 * Dockerfile directory and its port (README, "Your own stack"); the app finds it through
 * FL_PROFILE_ADDR.
 */
const SERVICE = ${str(service)};
/** No lock: each reload takes a worker of its own (the session lock released before the call). */
const PAGE = { kind: 'profile', path: '/profile.php?lock_across_io=0' };

export const ${exportName}: Scenario = {
  name: ${str(name)},
  summary: ${oneLine(`reproduces ${c.kind} on ${service}: ${plan.why}`)},
  shows: ${oneLine(`the incident observed on ${commentSafe(meta.observedOn)}: workers pile up on ${service} one by one, no lock between them, until the pool is full`)},
  variants: {
    incident: { expected: 'hung', culprit: { service: SERVICE, kind: ${str(c.kind)} } },
    fixed: { expected: 'responsive' },
  },
  topology: (t) =>
    t
      .withMaxWorkers(${workers})
      .withoutDemoServices()
      .withService(SERVICE, { bundled: 'storage' }, {
        port: 9000,
        env: { STORAGE_NAME: SERVICE, STORAGE_PORT: '9000', STORAGE_SEED: 'profile:alice={"name":"alice"};profile:bob={"name":"bob"}' },
        appEnv: { FL_PROFILE_ADDR: '{addr}' },
      }),
  async run(ctx) {
    await steadyState(ctx, { durationMs: 1500, users: [{ name: 'alice', ...PAGE }, { name: 'bob', ...PAGE }] });
    const fault = await ctx.phase('inject', () => ctx.inject(${plan.call}));
    await ctx.phase('observe', async () => {
      const reloads = ctx.loop({ ...PAGE, deadlineMs: 2000 }, 500, ctx.user('alice'));
      // Without a lock, the diagnoser names a pile-up only once its first worker has waited
      // past its stuck-after limit (10 s by default): diagnose after that.
      await ctx.sleep(12_000);
      await ctx.diagnose();
      await ctx.sleep(1000);
      await reloads.stop();
    });
    await ctx.phase('heal', () => fault.heal());
  },
};
`;
  } else if (plan.path === 'read') {
    body = `import { ${[...plan.imports, 'type Scenario'].join(', ')} } from ${str(from)};
import { profileUnderFault } from ${str(`${from}/scenarios`)};

/**
 * The observed upstream ${str(observedService ?? 'unnamed')}${commentSafe(peer)}. Stand-in: faultline's bundled storage
 * node (containers/storage), a line server the web app's /profile.php reads \`GET profile:<user>\`
 * from. To run against your own service, replace \`{ bundled: 'storage' }\` with its image or
 * Dockerfile directory and its port (README, "Your own stack"); the app finds it through
 * FL_PROFILE_ADDR.
 */
const SERVICE = ${str(service)};

export const ${exportName}: Scenario = {
  name: ${str(name)},
  summary: ${oneLine(`reproduces ${c.kind} on ${service}: ${plan.why}`)},
  shows: ${oneLine(`the incident observed on ${commentSafe(meta.observedOn)}: a worker blocked on ${service}${lock === 'file' ? ' holding the session file lock' : ''}, the pool filling behind it`)},
  variants: {
    // incident: the app as it was (${lock === 'file' ? 'session lock held across the call' : 'no lock'}, no timeouts); fixed: lock released, timeouts and a deadline.
    incident: { expected: 'hung', culprit: { service: SERVICE, kind: ${str(c.kind)} } },
    fixed: { expected: 'responsive' },
  },
  topology: (t) =>
    t
      .withMaxWorkers(${workers})
      .withoutDemoServices()
      .withService(SERVICE, { bundled: 'storage' }, {
        port: 9000,
        env: { STORAGE_NAME: SERVICE, STORAGE_PORT: '9000', STORAGE_SEED: ${plan.bigAnswer ? "`profile:alice=${'x'.repeat(64 * 1024)};profile:bob={\"name\":\"bob\"}`" : `'profile:alice={"name":"alice"};profile:bob={"name":"bob"}'`} },
        appEnv: { FL_PROFILE_ADDR: '{addr}' },
      }),
  run: (ctx) => profileUnderFault(ctx, ${plan.call}),
};
`;
  } else {
    body = `import { ${[...plan.imports, 'steadyState', 'type Scenario'].join(', ')} } from ${str(from)};
import { randomBytes } from 'node:crypto';

/**
 * The observed upstream ${str(observedService ?? 'unnamed')}${commentSafe(peer)}. Stand-in: faultline's bundled storage
 * node (containers/storage), which the web app's /upload.php writes objects to. To run against
 * your own service, replace \`{ bundled: 'storage' }\` with its image or Dockerfile directory and
 * its port (README, "Your own stack"); the app finds it through FL_STORAGE_ADDRS.
 */
const SERVICE = ${str(service)};

const upload = (bytes: number, deadlineMs: number) => ({
  kind: 'upload',
  method: 'POST' as const,
  path: \`/upload.php?key=up-\${Date.now().toString(36)}-\${Math.random().toString(36).slice(2, 8)}\`,
  body: randomBytes(bytes),
  headers: { 'content-type': 'application/octet-stream' },
  deadlineMs,
});

export const ${exportName}: Scenario = {
  name: ${str(name)},
  summary: ${oneLine(`reproduces ${c.kind} on ${service}: ${plan.why}`)},
  shows: ${oneLine(`the incident observed on ${commentSafe(meta.observedOn)}: a worker blocked writing to ${service}${lock === 'file' ? ' holding the session file lock' : ''}, the pool filling behind it`)},
  variants: {
    incident: { expected: 'hung', culprit: { service: SERVICE, kind: ${str(c.kind)} } },
    fixed: { expected: 'responsive' },
  },
  topology: (t) =>
    t
      .withMaxWorkers(${workers})
      .withoutDemoServices()
      .withService(SERVICE, { bundled: 'storage' }, {
        port: 9000,
        env: { STORAGE_NAME: SERVICE, STORAGE_PORT: '9000' },
        appEnv: { FL_STORAGE_ADDRS: '{addr}' },
      }),
  async run(ctx) {
    await steadyState(ctx, { durationMs: 1500, users: [] });
    const alice = ctx.user('alice');
    const first = await alice.request(upload(64 * 1024, 5000));
    if (first.outcome !== 'ok') throw new Error(\`steady state not reached: upload answered \${first.status ?? first.error}\`);
${plan.inFlight ? `    // The upload trickles (1 MB/s toward the upstream) so its write is still going when the
    // fault lands: bytes in flight, unacknowledged.
    const trickle = await ctx.inject(toxic(SERVICE, 'bandwidth', { rate: 1024 }, { stream: 'upstream' }));
` : ''}    // A write larger than every socket buffer on the way is in flight when the fault lands.
    const big = alice.request(upload(24 * 1024 * 1024, 5000));
    await ctx.sleep(${plan.inFlight ? 1500 : 300});
    const fault = await ctx.phase('inject', () => ctx.inject(${plan.call}));
    await ctx.phase('observe', async () => {
      const retries = ctx.loop(() => upload(64 * 1024, 5000), 700, alice);
      await ctx.sleep(8000);
      await ctx.diagnose();
      await ctx.sleep(2500);
      await retries.stop();
    });
    await big;
    await ctx.phase('heal', async () => {
      await fault.heal();${plan.inFlight ? '\n      await trickle.heal();' : ''}
    });
  },
};
`;
  }
  return { text: `${header}\n${body}`, name, service, kind: c.kind, lock, workers };
}

/** Checks where a scenario will go before any work: a .ts file in a directory that exists. */
export function checkScenarioPath(file: string, flag: string): string {
  const path = resolve(file);
  if (!/\.ts$/.test(path)) throw new UsageError(`${flag} ${file}: must name a .ts file (faultline run loads it), e.g. ${flag} incident.ts`);
  const dir = dirname(path);
  try {
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK);
  } catch {
    throw new UsageError(`${flag} ${file}: directory ${dir} does not exist or is not writable: create it first`);
  }
  if (existsSync(path) && statSync(path).isDirectory()) throw new UsageError(`${flag} ${file}: is a directory: name a .ts file`);
  return path;
}

/** Writes the file (replacing one of the same name, as a compiler output would). */
export function writeScenarioFile(path: string, emitted: EmittedScenario): void {
  writeFileSync(path, emitted.text.replace('npx faultline run <this file>', `npx faultline run ${basename(path)}`));
}
