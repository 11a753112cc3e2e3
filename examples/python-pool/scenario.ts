import { lostFin } from '../../harness/faults/packet';
import type { UserRequest } from '../../harness/probes/users';
import type { Scenario } from '../../harness/scenario/types';
import { runSchedule } from '../../harness/scenario/schedule';
import { hangsUntilFixed } from '../../harness/scenario/variants';

/**
 * lost-fin against a user's own app: the pre-forked Python pool in this folder (app.py) instead
 * of the bundled Apache/PHP one. Same fault, same load, same judgement, same diagnosis: the
 * profile backend's FIN is lost while a worker reads it holding alice's session lock (flock on
 * her session file); alice reloads with the same cookie until every worker waits on that lock
 * and /health stops answering.
 */
const HEALTH: UserRequest = { kind: 'health', path: '/health', deadlineMs: 2000 };
const PROFILE = { kind: 'profile', path: '/profile' };

export const pythonPoolLostFin: Scenario = {
  name: 'python-pool-lost-fin',
  summary: "a user's pre-forked Python pool: profile backend's FIN lost while a worker reads; the user reloads",
  shows: 'incident 1 in an app that is not the bundled one: every Python worker blocked on a session flock held by a worker in recv() on a half-open socket',
  variants: hangsUntilFixed({ service: 'profile', kind: 'silent-peer' }),
  // Pool occupancy counts the master's python3 children; the diagnoser starts from app.py's processes.
  workers: { comm: 'python3', match: /app\.py/ },
  topology: (t) => t.withWebDockerfile(__dirname, { name: 'python-pool', healthPath: HEALTH.path }).withMaxWorkers(8),
  // The app reads its timeouts from env: knobs that reach it there work with `faultline sweep`.
  knobs: [
    { name: 'timeout_ms', type: 'int', unit: 'ms', min: 1, max: 60_000, reaches: { kind: 'web-env', name: 'FL_TIMEOUT_MS' }, summary: 'per-operation socket timeout (fixed code)' },
    { name: 'deadline_ms', type: 'int', unit: 'ms', min: 1, max: 60_000, reaches: { kind: 'web-env', name: 'FL_DEADLINE_MS' }, summary: 'whole-request deadline (fixed code)' },
    { name: 'workers', type: 'int', unit: 'workers', min: 2, max: 64, default: 8, reaches: { kind: 'pool-size' }, summary: 'pre-forked workers' },
  ],
  // The common schedule (steady -> inject -> observe with a diagnosis moment -> heal -> recover),
  // pointed at this app's endpoints: the bundled lost-fin scenario's shape.
  run: (ctx) =>
    runSchedule(ctx, {
      health: HEALTH,
      steady: { users: [{ name: 'alice', ...PROFILE }, { name: 'bob', ...PROFILE }] },
      fault: lostFin('profile'),
      // alice gives up after 2 s and reloads with the same cookie, every 500 ms.
      load: () => ctx.loop({ ...PROFILE, deadlineMs: 2000 }, 500, ctx.user('alice')),
      observe: { maxMs: 10_000 },
      recover: { limitMs: 30_000 },
    }),
};
