import { Wait } from 'testcontainers';
import { pauseNode } from '../harness/faults/node';
import { repliesLost } from '../harness/faults/packet';
import { toxic } from '../harness/faults/proxy';
import type { Fault } from '../harness/faults/fault';
import type { UserRequest } from '../harness/probes/users';
import type { Scenario, ScenarioContext, WorkerSpec } from '../harness/scenario/types';
import type { Topology } from '../harness/topology/topology';
import { runSchedule } from '../harness/scenario/schedule';
import { hangsUntilFixed } from '../harness/scenario/variants';
import { responsiveMinMs } from './common';

/**
 * The modern PHP deployment (containers/fpm): nginx + PHP-FPM 8.2 (`pm = static`), sessions in
 * Redis through phpredis with session locking on, data in MariaDB through PDO/mysqlnd, an
 * internal HTTP API called with curl. Every upstream is a service declared with `withService`,
 * exactly as a user declares theirs: the scenarios below fault them by name.
 */
export function fpmStack(t: Topology): Topology {
  // mariadb, redis and api run as their own users from the start: no capability at all
  // (measured, containers/fpm/README.md); the fpm web gets the app set (SETUID, SETGID, KILL ...).
  return t
    .withBundledWeb('fpm', { healthPath: '/health.php' })
    .withoutDemoServices()
    .withService('mariadb', { bundled: 'mariadb' }, { port: 3306, waitFor: Wait.forLogMessage(/port: 3306/), capabilities: [] })
    .withService('redis', { bundled: 'redis' }, { port: 6379, waitFor: Wait.forLogMessage(/Ready to accept connections/), capabilities: [] })
    .withService('api', { bundled: 'api' }, { port: 8080, waitFor: Wait.forLogMessage(/listening on/), capabilities: [] });
}

/** PHP-FPM's master and workers: idle workers wait in accept on the FPM socket; nginx is not the pool. */
export const FPM_WORKERS: WorkerSpec = { comm: 'php-fpm8.2', match: /php-fpm/ };

const RELOAD_EVERY_MS = 500;
const OBSERVE_MS = 10_000;

/**
 * The common schedule with alice reloading `page` with her session cookie (a browser that gives
 * up after 2 s and reloads) while the health probe watches the pool. `beforeFault` runs between
 * the steady state and the fault (a request to have in flight when it lands).
 */
async function pageUnderFault(ctx: ScenarioContext, page: { kind: string; path: string }, fault: Fault, beforeFault?: () => Promise<void>): Promise<void> {
  await runSchedule(ctx, {
    steady: { users: [{ name: 'alice', ...page }, { name: 'bob', ...page }] },
    beforeFault,
    fault,
    load: () => ctx.loop({ ...page, deadlineMs: 2000 } satisfies UserRequest, RELOAD_EVERY_MS, ctx.user('alice')),
    observe: { maxMs: OBSERVE_MS, minMs: responsiveMinMs(ctx.topo.web.maxWorkers, RELOAD_EVERY_MS, OBSERVE_MS) },
  });
}

const DB_PAGE = { kind: 'db', path: '/db.php' };

/**
 * phpredis' session lock is a Redis key, not a kernel lock: the diagnoser can only infer the link
 * (the reloads poll Redis for the lock: harness/diagnose/README.md, "Inferred convoys"). By the
 * diagnosis (8 s of reloads every 500 ms) at least two poll for it.
 */
const REDIS_SESSION_CHAIN = { lock: 'redis-session-lock', minWaiters: 2, inferred: true } as const;

export const dbFailoverHalfOpenScenario: Scenario = {
  name: 'db-failover-half-open',
  summary: "MariaDB's replies stop reaching the web mid-query (as after a failover: FIN and RST lost too); alice reloads",
  shows: 'a PHP-FPM worker reads the mariadb socket forever holding the Redis session lock; the reloads poll for that lock until the pool is full',
  variants: hangsUntilFixed({ service: 'mariadb', kind: 'silent-peer', chain: REDIS_SESSION_CHAIN }),
  workers: FPM_WORKERS,
  topology: fpmStack,
  async run(ctx) {
    await pageUnderFault(ctx, DB_PAGE, repliesLost('mariadb'), async () => {
      // A query in flight (SLEEP(2) inside MariaDB) when the replies stop: the worker holding
      // alice's session lock waits for an answer that never comes.
      void ctx.user('alice').request({ kind: 'db', path: '/db.php?query_ms=2000', deadlineMs: 2000 });
      await ctx.sleep(700);
    });
  },
};

export const redisStallScenario: Scenario = {
  name: 'redis-stall',
  summary: 'Redis freezes (docker pause) while alice reloads a page whose session lives in Redis',
  shows: 'every PHP-FPM worker blocked on the frozen session store (phpredis with no read timeout); no kernel lock, no CPU',
  variants: hangsUntilFixed({ service: 'redis', kind: 'silent-peer' }),
  workers: FPM_WORKERS,
  topology: fpmStack,
  async run(ctx) {
    await pageUnderFault(ctx, { kind: 'redis', path: '/redis.php' }, pauseNode('redis'));
  },
};

export const apiNoTimeoutScenario: Scenario = {
  name: 'api-no-timeout',
  summary: 'the internal API sends its headers, then its body trickles at 1 KB/s (Toxiproxy bandwidth); curl has no timeout',
  shows: 'a PHP-FPM worker in curl holds the Redis session lock for minutes; the reloads poll for that lock until the pool is full',
  variants: hangsUntilFixed({ service: 'api', kind: 'slow-peer', chain: REDIS_SESSION_CHAIN }),
  workers: FPM_WORKERS,
  topology: fpmStack,
  async run(ctx) {
    await pageUnderFault(ctx, { kind: 'api', path: '/api.php' }, toxic('api', 'bandwidth', { rate: 1 }, { stream: 'downstream' }));
  },
};
