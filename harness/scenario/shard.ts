import { UsageError } from '../errors';
import type { Variant } from './types';

/** Shard `index` of `count` (1-based, as `--shard 2/3` and jest's `--shard=2/3` read). */
export interface Shard {
  index: number;
  count: number;
}

/** One run of the library: a scenario in one variant. */
export interface ShardRun {
  scenario: string;
  variant: Variant;
}

/**
 * How long each bundled run takes (ms, measured on a 2-core machine with two runs at once: the
 * README's table). Sharding balances on these; they need only be right relative to each other.
 */
export const EXPECTED_RUN_MS: Readonly<Record<string, Readonly<Record<Variant, number>>>> = {
  'lost-fin': { incident: 19_100, fixed: 17_500 },
  'stalled-write': { incident: 19_500, fixed: 17_500 },
  'slow-node': { incident: 22_800, fixed: 19_800 },
  'connect-blackhole': { incident: 16_700, fixed: 17_100 },
  'reset-mid-transfer': { incident: 10_500, fixed: 10_600 },
  'partition-heal': { incident: 24_500, fixed: 16_400 },
  'lost-fin-slow-close': { incident: 17_300, fixed: 16_500 },
  'partition-reject': { incident: 20_200, fixed: 19_100 },
  'db-failover-half-open': { incident: 20_000, fixed: 19_100 },
  'redis-stall': { incident: 17_800, fixed: 19_900 },
  'api-no-timeout': { incident: 21_700, fixed: 29_900 },
};

/** A scenario of your own (a .ts file) has no measurement: it counts as a typical run. */
export const DEFAULT_RUN_MS = 18_000;

export function expectedRunMs(run: ShardRun): number {
  return EXPECTED_RUN_MS[run.scenario]?.[run.variant] ?? DEFAULT_RUN_MS;
}

/** Parses `i/n` (1 <= i <= n <= 1000); bad input is a one-line UsageError naming --shard (after `prefix`). */
export function parseShard(value: string, prefix = ''): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(value.trim());
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || count < 1 || count > 1000 || index < 1 || index > count) {
    throw new UsageError(`${prefix}--shard must be i/n with 1 <= i <= n (e.g. --shard 2/3), got "${value}"`);
  }
  return { index, count };
}

/**
 * The runs of shard `shard`, in their input order. Every shard computes the same split from the
 * same runs, whatever order they come in: longest expected run first (ties by name), each to the
 * shard with the least expected time so far (ties to the lowest shard). So the shards are disjoint,
 * together they are every run, and their expected times differ by at most the longest run.
 */
export function shardRuns<T extends ShardRun>(runs: readonly T[], shard: Shard, weight: (run: T) => number = expectedRunMs): T[] {
  const key = (r: T) => `${r.scenario}\u0000${r.variant}`;
  const order = [...runs].sort((a, b) => weight(b) - weight(a) || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  const load = new Array<number>(shard.count).fill(0);
  const mine = new Set<T>();
  for (const run of order) {
    let target = 0;
    for (let i = 1; i < load.length; i++) if (load[i] < load[target]) target = i;
    load[target] += weight(run);
    if (target === shard.index - 1) mine.add(run);
  }
  return runs.filter((r) => mine.has(r));
}
