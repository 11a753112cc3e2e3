/**
 * The text of an emitted scenario file: its header comment (what was observed, how it is
 * reproduced) and its body, one template per shape of the bundled app the incident is replayed
 * on (nginx + PHP-FPM with a lock polled in Redis; the Apache app reading its upstream with no
 * lock, or with the session file lock held; the Apache app writing to it). scenario.ts chooses
 * what goes in; mapping.ts says which fault and app an incident maps to.
 */
import type { FaultPlan, LockShape } from './mapping';

const str = (s: string) => JSON.stringify(s);
/** Scenario summaries and `shows` are one line of at most 300 characters (the schema). */
const oneLine = (s: string) => JSON.stringify(s.replace(/\s+/g, ' ').slice(0, 300));
/** Text from the observed host inside a block comment: no `*\/` can end it early. */
const commentSafe = (s: string) => s.replace(/\*\//g, '* /').replace(/[\r\n]+/g, ' ');

/** What the templates fill in, as emitScenario computed it. */
export interface ScenarioTextInput {
  /** The culprit as diagnosed (its kind checked). */
  culprit: { pid?: number; command?: string; kind: string; syscall?: string | null; waiters?: number[] };
  meta: { observedOn: string; generator: string };
  /** The import specifier of faultline. */
  from: string;
  lock: LockShape;
  plan: FaultPlan;
  /** The observed upstream's name, and ` (<remote>)` when its address is known (else ''). */
  observedService: string | undefined;
  peer: string;
  /** The topology's service, the scenario's name and its export. */
  service: string;
  name: string;
  exportName: string;
  /** The pool: as observed, and as the scenario runs it. */
  observedWorkers: number;
  workers: number;
}

/** The whole file: the header, then the body of the template that fits the lock and the path. */
export function scenarioText(t: ScenarioTextInput): string {
  const body = t.lock === 'polled' ? polledLockScenario(t) : t.plan.path === 'read' && t.lock === 'none' ? pileUpScenario(t) : t.plan.path === 'read' ? readScenario(t) : writeScenario(t);
  return `${header(t)}\n${body}`;
}

/** What was observed and how the file reproduces it; `npx faultline run <this file>` is filled in when written. */
function header({ culprit: c, meta, lock, plan, observedService, peer, service, observedWorkers, workers }: ScenarioTextInput): string {
  const summaryLine = `${c.kind}: pid ${c.pid ?? '?'} (${c.command ?? '?'}) in ${c.syscall ?? 'no syscall'}, ${c.waiters?.length ?? 0} waiting behind it`;
  const lockText = { file: 'a kernel file lock (flock/POSIX), as a PHP file session takes', polled: 'a lock polled in a cache (as phpredis keeps a session lock in Redis)', none: 'no lock: workers pile up on the upstream one by one' }[lock];
  const workersNote =
    observedWorkers > workers
      ? `\n * Pool: ${observedWorkers} workers observed; the scenario runs ${workers}, which one user's reloads\n * (every 500 ms for 10 s) can fill: raise both together to model the whole pool.`
      : `\n * Pool: ${observedWorkers} workers observed${observedWorkers < workers ? ` (the topology's minimum is ${workers})` : ''}.`;
  return `/**
 * A regression test for an incident faultline diagnosed, written by \`${commentSafe(meta.generator)}\`.
 * Observed: ${commentSafe(meta.observedOn)}
 *   ${commentSafe(summaryLine)}
 *   upstream ${commentSafe(observedService ?? 'unnamed')}${commentSafe(peer)}; lock: ${lockText}${workersNote}
 * Reproduced on faultline's topology: ${plan.why}.${plan.alternatives ? `\n * The same kind also comes from ${plan.alternatives}.` : ''}
 *
 *   npx faultline run <this file>      incident: hung, culprit ${c.kind} on ${service}; fixed: responsive
 */`;
}

/**
 * What every template opens with: the imports (faultline's: the plan's, hangsUntilFixed, `imports`, Scenario), a comment naming the observed upstream and its
 * stand-in, SERVICE (and the template's own constants), and the scenario's name, summary, shows
 * and variants; the template goes on with its topology and run.
 */
function opening(t: ScenarioTextInput, o: { imports?: string[]; extraImports?: string; standIn: string; consts?: string; shows: string; variantsComment?: string }): string {
  const { culprit: c, from, plan, observedService, peer, service, name, exportName } = t;
  return `import { ${[...plan.imports, 'hangsUntilFixed', ...(o.imports ?? []), 'type Scenario'].join(', ')} } from ${str(from)};
${o.extraImports ? `${o.extraImports}\n` : ''}
/**
 * The observed upstream ${str(observedService ?? 'unnamed')}${commentSafe(peer)}. Stand-in: ${o.standIn}
 */
const SERVICE = ${str(service)};
${o.consts ? `${o.consts}\n` : ''}
export const ${exportName}: Scenario = {
  name: ${str(name)},
  summary: ${oneLine(`reproduces ${c.kind} on ${service}: ${plan.why}`)},
  shows: ${oneLine(o.shows)},
${o.variantsComment ? `  // ${o.variantsComment}\n` : ''}  variants: hangsUntilFixed({ service: SERVICE, kind: ${str(c.kind)} }),`;
}

/** nginx + PHP-FPM with sessions in Redis: a lock polled in a cache, the upstream reached over HTTP. */
function polledLockScenario(t: ScenarioTextInput): string {
  const { meta, plan, service, workers } = t;
  return `${opening(t, { imports: ['runSchedule'], standIn: `faultline's bundled HTTP API
 * (containers/api), called by the PHP-FPM app's /api.php with curl. To run against your own
 * service, replace \`{ bundled: 'api' }\` with its image or Dockerfile directory and its port
 * (README, "Your own stack"); the app finds it through FL_API_ADDR.`, consts: `const PAGE = { kind: 'api', path: '/api.php' };`, shows: `the incident observed on ${commentSafe(meta.observedOn)}: a worker blocked on ${service} holding a session lock polled in Redis, the pool filling behind it` })}
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
  run(ctx) {
    return runSchedule(ctx, {
      steady: { users: [{ name: 'alice', ...PAGE }, { name: 'bob', ...PAGE }], minMs: 1500 },${plan.inFlight ? `
      beforeFault: async () => {
        // alice's answer (256 KiB) trickles at 32 KB/s, so her worker, holding her session lock,
        // is still reading it when the fault lands.
        // faultline heals it after the fault (removed first, a toxic on a link the fault blocks hangs).
        await ctx.inject(toxic(SERVICE, 'bandwidth', { rate: 32 }, { stream: 'downstream' }));
        void ctx.user('alice').request({ ...PAGE, deadlineMs: 2000 });
        await ctx.sleep(700);
      },` : ''}
      fault: ${plan.call},
      // alice gives up after 2 s and reloads, as a browser user does: each reload polls the lock.
      load: () => ctx.loop({ ...PAGE, deadlineMs: 2000 }, 500, ctx.user('alice')),
      // 10 s under the fault, diagnosed 8 s in (drop endsEarly to end it once the verdict is settled).
      observe: { maxMs: 10_000, diagnoseByMs: 8000, endsEarly: false },
    });
  },
};
`;
}

/** The Apache app reading its upstream with the session lock released first: workers pile up one by one. */
function pileUpScenario(t: ScenarioTextInput): string {
  const { meta, plan, service, workers } = t;
  return `${opening(t, { imports: ['runSchedule'], standIn: `faultline's bundled storage
 * node (containers/storage), a line server the web app's /profile.php reads \`GET profile:<user>\`
 * from. To run against your own service, replace \`{ bundled: 'storage' }\` with its image or
 * Dockerfile directory and its port (README, "Your own stack"); the app finds it through
 * FL_PROFILE_ADDR.`, consts: `/** No lock: each reload takes a worker of its own (the session lock released before the call). */
const PAGE = { kind: 'profile', path: '/profile.php?lock_across_io=0' };`, shows: `the incident observed on ${commentSafe(meta.observedOn)}: workers pile up on ${service} one by one, no lock between them, until the pool is full` })}
  topology: (t) =>
    t
      .withMaxWorkers(${workers})
      .withoutDemoServices()
      .withService(SERVICE, { bundled: 'storage' }, {
        port: 9000,
        env: { STORAGE_NAME: SERVICE, STORAGE_PORT: '9000', STORAGE_SEED: 'profile:alice={"name":"alice"};profile:bob={"name":"bob"}' },
        appEnv: { FL_PROFILE_ADDR: '{addr}' },
      }),
  run: (ctx) =>
    runSchedule(ctx, {
      steady: { users: [{ name: 'alice', ...PAGE }, { name: 'bob', ...PAGE }], minMs: 1500 },
      fault: ${plan.call},
      load: () => ctx.loop({ ...PAGE, deadlineMs: 2000 }, 500, ctx.user('alice')),
      // Without a lock, the diagnoser names a pile-up only once its first worker has waited past
      // its stuck-after limit (10 s by default): diagnosed 12 s in, after that.
      observe: { maxMs: 13_000, diagnoseByMs: 12_000, diagnoseNotBeforeMs: 12_000, endsEarly: false },
    }),
};
`;
}

/** The Apache app reading its upstream (the session file lock held across the call, or no lock). */
function readScenario(t: ScenarioTextInput): string {
  const { meta, from, lock, plan, service, workers } = t;
  return `${opening(t, { extraImports: `import { profileUnderFault } from ${str(`${from}/scenarios`)};`, standIn: `faultline's bundled storage
 * node (containers/storage), a line server the web app's /profile.php reads \`GET profile:<user>\`
 * from. To run against your own service, replace \`{ bundled: 'storage' }\` with its image or
 * Dockerfile directory and its port (README, "Your own stack"); the app finds it through
 * FL_PROFILE_ADDR.`, shows: `the incident observed on ${commentSafe(meta.observedOn)}: a worker blocked on ${service}${lock === 'file' ? ' holding the session file lock' : ''}, the pool filling behind it`, variantsComment: `incident: the app as it was (${lock === 'file' ? 'session lock held across the call' : 'no lock'}, no timeouts); fixed: lock released, timeouts and a deadline.` })}
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
}

/** The Apache app writing a large upload to its upstream when the fault lands. */
function writeScenario(t: ScenarioTextInput): string {
  const { meta, lock, plan, service, workers } = t;
  return `${opening(t, { imports: ['runSchedule'], extraImports: `import { randomBytes } from 'node:crypto';`, standIn: `faultline's bundled storage
 * node (containers/storage), which the web app's /upload.php writes objects to. To run against
 * your own service, replace \`{ bundled: 'storage' }\` with its image or Dockerfile directory and
 * its port (README, "Your own stack"); the app finds it through FL_STORAGE_ADDRS.`, consts: `
const upload = (bytes: number, deadlineMs: number) => ({
  kind: 'upload',
  method: 'POST' as const,
  path: \`/upload.php?key=up-\${Date.now().toString(36)}-\${Math.random().toString(36).slice(2, 8)}\`,
  body: randomBytes(bytes),
  headers: { 'content-type': 'application/octet-stream' },
  deadlineMs,
});`, shows: `the incident observed on ${commentSafe(meta.observedOn)}: a worker blocked writing to ${service}${lock === 'file' ? ' holding the session file lock' : ''}, the pool filling behind it` })}
  topology: (t) =>
    t
      .withMaxWorkers(${workers})
      .withoutDemoServices()
      .withService(SERVICE, { bundled: 'storage' }, {
        port: 9000,
        env: { STORAGE_NAME: SERVICE, STORAGE_PORT: '9000' },
        appEnv: { FL_STORAGE_ADDRS: '{addr}' },
      }),
  run(ctx) {
    const alice = ctx.user('alice');
    let big: Promise<unknown> = Promise.resolve();
    return runSchedule(ctx, {
      steady: {
        minMs: 1500,
        check: async () => {
          const first = await alice.request(upload(64 * 1024, 5000));
          if (first.outcome !== 'ok') throw new Error(\`steady state not reached: upload answered \${first.status ?? first.error}\`);
        },
      },
${plan.inFlight ? `      beforeFault: async () => {
        // The upload trickles (1 MB/s toward the upstream) so its write is still going when the
        // fault lands: bytes in flight, unacknowledged. faultline heals the toxic after the fault
        // (removed first, a toxic on a link the fault blocks hangs).
        await ctx.inject(toxic(SERVICE, 'bandwidth', { rate: 1024 }, { stream: 'upstream' }));
        // A write larger than every socket buffer on the way.
        big = alice.request(upload(24 * 1024 * 1024, 5000));
        await ctx.sleep(1500);
      },
      fault: ${plan.call},
      load: () => ctx.loop(() => upload(64 * 1024, 5000), 700, alice),
` : `      fault: ${plan.call},
      load: async () => {
        // A write larger than every socket buffer on the way, to the upstream as it is now: it
        // fills them and blocks.
        big = alice.request(upload(24 * 1024 * 1024, 5000));
        await ctx.sleep(300);
        return ctx.loop(() => upload(64 * 1024, 5000), 700, alice);
      },
`}      // 10.5 s under the fault, diagnosed 8 s in (drop endsEarly to end it once the verdict is settled).
      observe: { maxMs: 10_500, diagnoseByMs: 8000, endsEarly: false },
      beforeHeal: async () => {
        await big;
      },
    });
  },
};
`;
}
