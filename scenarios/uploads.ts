import { randomBytes } from 'node:crypto';
import { partition } from '../harness/faults/packet';
import { pauseNode } from '../harness/faults/node';
import { toxic } from '../harness/faults/proxy';
import type { Fault } from '../harness/faults/fault';
import { sha256 } from '../harness/probes/data';
import type { UserRequest } from '../harness/probes/users';
import type { KnobSpec } from '../harness/scenario/knobs';
import { REPLAY_NOTE, type Scenario, type ScenarioContext } from '../harness/scenario/types';
import { runSchedule } from '../harness/scenario/schedule';
import { hangsUntilFixed } from '../harness/scenario/variants';
import { FILE_SESSION_CHAIN, numberSetting } from './common';

const WORKERS_KNOB: KnobSpec = { name: 'workers', type: 'int', unit: 'workers', min: 2, max: 64, default: 8, reaches: { kind: 'pool-size' }, summary: "the web's worker pool size" };

let uploadSeq = 0;

/** The seed of a run's upload bodies: `--set upload_seed=N` replays the same bytes. */
export const UPLOAD_SEED_KNOB: KnobSpec = {
  name: 'upload_seed', type: 'int', unit: 'seed', min: 0, max: 2 ** 31 - 1,
  reaches: { kind: 'scenario', what: 'upload bodies' },
  summary: 'seed of the upload bodies (unset: a fresh one, noted in the result for a replay)',
};

export interface UploadOptions {
  replicas?: number;
  node?: number;
  deadlineMs?: number;
}

/**
 * Upload bodies from a seed: the n-th body of a seed is always the same bytes (xorshift32 from
 * seed and n), so a failed run's uploads can be replayed exactly. Without a seed: random bytes.
 */
export function uploadBody(sizeBytes: number, seed?: number, n = 0): Buffer {
  if (seed === undefined) return randomBytes(sizeBytes);
  const body = Buffer.allocUnsafe(sizeBytes);
  let x = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(n + 1, 0xc2b2ae35)) | 1;
  let i = 0;
  for (; i + 4 <= sizeBytes; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    body.writeInt32LE(x | 0, i);
  }
  for (; i < sizeBytes; i++) body[i] = (x >>> ((i & 3) * 8)) & 0xff;
  return body;
}

/**
 * The uploads of one run: a generator of upload requests whose bodies follow the run's seed
 * (knob `upload_seed`, or a fresh seed noted as `replay: --set upload_seed=N`).
 */
export function runUploads(ctx: Pick<ScenarioContext, 'knob' | 'note'>): (sizeBytes: number, opts?: UploadOptions) => UserRequest {
  const given = ctx.knob('upload_seed');
  const seed = given === undefined ? randomBytes(4).readUInt32LE(0) & 0x7fffffff : Number(given);
  if (given === undefined) ctx.note(REPLAY_NOTE, `--set upload_seed=${seed}`);
  let n = 0;
  return (sizeBytes, opts) => upload(sizeBytes, { ...opts, seed, n: n++ });
}

/** An upload request with a fresh key and a body (random, or the `n`-th of `seed`); its key and sha256 go into the history. */
export function upload(sizeBytes: number, opts: UploadOptions & { seed?: number; n?: number } = {}): UserRequest {
  const body = uploadBody(sizeBytes, opts.seed, opts.n);
  const key = `up-${process.pid}-${Date.now().toString(36)}-${++uploadSeq}`;
  const params = new URLSearchParams({ key });
  if (opts.replicas) params.set('replicas', String(opts.replicas));
  if (opts.node) params.set('node', String(opts.node));
  return {
    kind: 'upload',
    method: 'POST',
    path: `/upload.php?${params}`,
    body,
    headers: { 'content-type': 'application/octet-stream' },
    deadlineMs: opts.deadlineMs ?? 4000,
    meta: { key, sha256: sha256(body) },
  };
}

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * One user's uploads during a fault: a large upload first (larger than every socket buffer on
 * the way, so a writer really blocks), then smaller re-tries with the same session cookie.
 */
async function sessionUploadsUnderFault(
  ctx: ScenarioContext,
  fault: Fault,
  opts: { firstBytes: number; observeMs: number; retryEveryMs: number; diagnoseAtMs: number; recoveryLimitMs?: number },
): Promise<void> {
  const alice = ctx.user('alice');
  const upload = runUploads(ctx);
  let first: Promise<unknown> = Promise.resolve();
  await runSchedule(ctx, {
    steady: {
      check: async () => {
        const steadyUpload = await alice.request(upload(64 * KiB));
        if (steadyUpload.outcome !== 'ok') throw new Error(`${ctx.scenario}: steady state not reached: upload answered ${steadyUpload.status ?? steadyUpload.error}`);
      },
    },
    fault,
    load: async () => {
      first = alice.request(upload(opts.firstBytes, { deadlineMs: 5000 }));
      await ctx.sleep(300);
      // The server's own deadline (fixed) is 3 s: a 5 s client deadline lets the client be told.
      return ctx.loop(() => upload(64 * KiB, { deadlineMs: 5000 }), opts.retryEveryMs, alice);
    },
    observe: { maxMs: opts.observeMs, diagnoseByMs: opts.diagnoseAtMs + 300 },
    // The first upload ends within its 5 s deadline; it is judged by the data check with the rest.
    beforeHeal: () => first,
    recover: opts.recoveryLimitMs ? { limitMs: opts.recoveryLimitMs } : undefined,
  });
}

/**
 * Incident 2 of the brief: a storage node stops reading (frozen) while a worker writes an upload
 * to it. The incident code writes with ext/sockets and no SO_SNDTIMEO, holding the session lock.
 */
export const stalledWriteScenario: Scenario = {
  name: 'stalled-write',
  summary: 'storage-1 frozen (docker pause) during a 24 MiB upload; the user retries',
  shows: 'incident 2: a worker blocked writing to a node that stopped reading, the session lock behind it',
  checksData: true,
  knobs: [WORKERS_KNOB, UPLOAD_SEED_KNOB],
  variants: hangsUntilFixed({ service: 'storage-1', kind: 'peer-not-reading', chain: FILE_SESSION_CHAIN }),
  run: (ctx) => sessionUploadsUnderFault(ctx, pauseNode('storage-1'), { firstBytes: 24 * MiB, observeMs: 11_000, retryEveryMs: 700, diagnoseAtMs: 8000 }),
};

/**
 * The web cut from storage-1 (every packet dropped both ways), then healed. The point is the
 * recovery: once the partition heals, retransmissions get through and the pool must drain.
 */
export const partitionHealScenario: Scenario = {
  name: 'partition-heal',
  summary: 'the web partitioned from storage-1 for 10 s during uploads, then healed',
  shows: 'the pool recovers within 25 s of the heal (connect retries go through once the path is back)',
  checksData: true,
  knobs: [UPLOAD_SEED_KNOB],
  variants: {
    incident: { expected: 'hung', culprit: { service: 'storage-1', kind: 'connect-stall', chain: FILE_SESSION_CHAIN }, recoversWithinMs: 25_000 },
    fixed: { expected: 'responsive', recoversWithinMs: 5_000 },
  },
  run: (ctx) => sessionUploadsUnderFault(ctx, partition('storage-1'), { firstBytes: 64 * KiB, observeMs: 10_000, retryEveryMs: 700, diagnoseAtMs: 7000, recoveryLimitMs: 30_000 }),
};

/**
 * Three replicas, one slowed to a trickle (Toxiproxy bandwidth, 256 KB/s toward the node) during
 * replicated 8 MiB writes. The incident code writes to the nodes one after another with
 * per-operation timeouts that a trickle never trips; the fixed code writes to all three at once
 * with one deadline and answers on a quorum of 2.
 */
export const slowNodeScenario: Scenario = {
  name: 'slow-node',
  summary: 'storage-3 of three replicas trickles at 256 KB/s during replicated 8 MiB uploads',
  shows: 'per-operation timeouts never fire on a trickle; a deadline plus quorum writes stay responsive',
  checksData: true,
  topology: (t) => t.withStorageNodes(3),
  knobs: [
    WORKERS_KNOB,
    UPLOAD_SEED_KNOB,
    {
      name: 'bandwidth_kbps', type: 'int', unit: 'KB/s', min: 1, max: 1_000_000, default: 256,
      reaches: { kind: 'fault-severity', fault: 'bandwidth (storage-3, upstream)', param: 'rate' },
      summary: 'how fast storage-3 still accepts upload bytes (the fault\'s severity)',
    },
  ],
  variants: hangsUntilFixed({ service: 'storage-3', kind: 'slow-peer' }),
  run: (ctx) => {
    const upload = runUploads(ctx);
    return runSchedule(ctx, {
      steady: {
        check: async () => {
          const ok = await ctx.user('steady').request(upload(256 * KiB, { replicas: 3 }));
          if (ok.outcome !== 'ok') throw new Error(`slow-node: steady state not reached: replicated upload answered ${ok.status ?? ok.error}`);
        },
      },
      fault: toxic('storage-3', 'bandwidth', { rate: numberSetting(ctx, 'bandwidth_kbps', 256) }, { stream: 'upstream' }),
      // Fresh users: no session lock in play, the pile-up is on the upstream itself.
      load: () => ctx.loop(() => upload(8 * MiB, { replicas: 3, deadlineMs: 5000 }), 600),
      // One new upload every 600 ms: at 8.5 s the first five or so are past --stuck-after (5 s),
      // the pile-up the diagnosis names; earlier only one or two are, the rest in flight.
      observe: { maxMs: 10_500, diagnoseNotBeforeMs: 8500, diagnoseByMs: 8500 },
    });
  },
};

/**
 * Toxiproxy resets the connection to storage-1 as soon as upload bytes arrive (reset_peer,
 * upstream). No worker hangs; the question is what the client is told. The incident code
 * reports "stored" once its bytes left the process, whatever the node answered (nothing); the
 * fixed code waits for `OK <sha256>` and reports the failure.
 */
export const resetMidTransferScenario: Scenario = {
  name: 'reset-mid-transfer',
  summary: 'connections to storage-1 reset while uploads are in flight (Toxiproxy reset_peer)',
  shows: 'incident code acknowledges uploads that were never stored; fixed code reports the failure',
  checksData: true,
  knobs: [UPLOAD_SEED_KNOB],
  variants: {
    incident: { expected: 'data-lost' },
    fixed: { expected: 'responsive' },
  },
  run: (ctx) => {
    const upload = runUploads(ctx);
    return runSchedule(ctx, {
      fault: toxic('storage-1', 'reset_peer', { timeout: 0 }, { stream: 'upstream' }),
      load: () => ctx.loop(() => upload(64 * KiB, { deadlineMs: 4000 }), 300),
      // Judged by what the client was told about its data, not by health: the window is not
      // ended early, and 3 s is ten uploads (each reset from its first byte).
      observe: { maxMs: 3000, diagnose: false, endsEarly: false },
    });
  },
};
