/**
 * The one table of diagnosis kinds: each kind's severity (ties between chains with as many waiters
 * go to the lower number), whether it can be a culprit, and its meaning as the text report prints
 * it. A new kind is added here and nowhere else: the types, the sort order and the rendering all
 * read this table (the classifier decides when a process shows it).
 */
export const KINDS = {
  'lock-cycle': { severity: 0, culprit: true, meaning: "processes wait for each other's locks: a deadlock" },
  'half-open-read': {
    severity: 1,
    culprit: true,
    meaning:
      'the holder reads from a connection whose peer is gone or silent (ESTABLISHED, nothing in flight, no timer, no progress); without a read timeout it waits forever',
  },
  'stalled-write': {
    severity: 2,
    culprit: true,
    meaning: 'the holder writes to a peer that does not read (or is gone): the send queue is full and not draining',
  },
  'connect-stall': { severity: 3, culprit: true, meaning: 'the holder waits for a TCP handshake that does not complete (SYN_SENT)' },
  'busy-loop': { severity: 4, culprit: true, meaning: 'the holder spins on a CPU without blocking in any syscall' },
  'slow-holder': { severity: 5, culprit: true, meaning: 'the holder sleeps while holding the lock' },
  'slow-peer': {
    severity: 6,
    culprit: true,
    meaning: 'the peer answers, slowly: bytes trickle, per-operation timeouts never fire, and workers pile up behind it',
  },
  'disk-wait': {
    severity: 6.5,
    culprit: true,
    meaning:
      'the process sleeps uninterruptibly (D state) inside the kernel on a device or filesystem request that does not complete (disk, NFS, FUSE: see wchan); no userspace timeout ends it',
  },
  unknown: { severity: 7, culprit: true, meaning: 'the holder waits on something faultline cannot classify (see evidence)' },
  idle: { severity: 8, culprit: false, meaning: 'idle workers waiting for connections' },
} as const satisfies Record<string, { severity: number; culprit: boolean; meaning: string }>;

export type ChainKind = keyof typeof KINDS;
/** The kinds a culprit can have (every kind whose `culprit` is true). */
export type CulpritKind = { [K in ChainKind]: (typeof KINDS)[K]['culprit'] extends true ? K : never }[ChainKind];

export function severity(kind: ChainKind): number {
  return KINDS[kind].severity;
}

export function canBeCulprit(kind: ChainKind): kind is CulpritKind {
  return KINDS[kind].culprit;
}

/** Kind -> meaning, as printed after `kind` in the text report. */
export const KIND_MEANING: Record<ChainKind, string> = Object.fromEntries(
  Object.entries(KINDS).map(([kind, k]) => [kind, k.meaning]),
) as Record<ChainKind, string>;
