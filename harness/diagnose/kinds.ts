/**
 * The one table of diagnosis kinds: each kind's severity (ties between chains with as many waiters
 * go to the lower number), whether it can be a culprit, whether it is a wait on an upstream (a
 * socket to another service: such waits group into pile-ups and can hold a convoy), and its
 * meaning as the text report prints it. A new kind is added here and nowhere else: the types, the
 * sort order, the scenario schema and the rendering all read this table (the classifier decides
 * when a process shows it).
 *
 * The socket kinds say only what the socket shows (see classify.ts for the facts each needs):
 * - silent-peer: nothing in flight and nothing arriving. Consistent with a lost FIN/RST, a frozen
 *   process on a host that still ACKs, or a server busy on something else; the socket alone cannot
 *   tell those apart.
 * - unreachable-peer: our bytes are not acknowledged (retransmit timer, retransmits counted), or
 *   our zero-window probes go unanswered (the window was closed when the path went silent).
 * - peer-not-reading: the peer's kernel acknowledges but its receive window is closed (zero-window
 *   probe timer with its probes answered, our send queue full).
 */
export const KINDS = {
  'lock-cycle': { severity: 0, culprit: true, upstream: false, meaning: "processes wait for each other's locks: a deadlock" },
  'silent-peer': {
    severity: 1,
    culprit: true,
    upstream: true,
    meaning:
      'it reads from a connection on which nothing arrives and nothing of ours is in flight; consistent with a lost FIN/RST, a frozen peer, or a peer busy elsewhere; without a read timeout it waits forever',
  },
  'unreachable-peer': {
    severity: 2,
    culprit: true,
    upstream: true,
    meaning: 'it sent bytes the peer never acknowledged: TCP retransmits them and the peer does not answer (down, or the path drops packets)',
  },
  'peer-not-reading': {
    severity: 3,
    culprit: true,
    upstream: true,
    meaning: "it writes to a peer whose kernel acknowledges but whose window is closed: the peer's process does not read, the send queue is full",
  },
  'connect-stall': { severity: 4, culprit: true, upstream: true, meaning: 'it waits for a TCP handshake that does not complete (SYN_SENT)' },
  'disk-wait': {
    severity: 5,
    culprit: true,
    upstream: false,
    meaning: 'the holder sleeps uninterruptibly in the kernel (state D: disk, NFS, a frozen cgroup), see its wchan',
  },
  'busy-loop': { severity: 6, culprit: true, upstream: false, meaning: 'the holder spins on a CPU without blocking in any syscall' },
  'slow-holder': { severity: 7, culprit: true, upstream: false, meaning: 'the holder sleeps while holding the lock' },
  'slow-peer': {
    severity: 8,
    culprit: true,
    upstream: true,
    meaning: 'the peer answers, slowly: bytes trickle, per-operation timeouts never fire, and the workers (and the clients or lock waiters behind them) pile up',
  },
  unknown: { severity: 9, culprit: true, upstream: false, meaning: 'the holder waits on something faultline cannot classify (see evidence)' },
  idle: { severity: 10, culprit: false, upstream: false, meaning: 'idle workers waiting for connections' },
} as const satisfies Record<string, { severity: number; culprit: boolean; upstream: boolean; meaning: string }>;

export type ChainKind = keyof typeof KINDS;
/** The kinds a culprit can have (every kind whose `culprit` is true). */
export type CulpritKind = { [K in ChainKind]: (typeof KINDS)[K]['culprit'] extends true ? K : never }[ChainKind];
/** The kinds that are waits on an upstream (every kind whose `upstream` is true). */
export type UpstreamKind = { [K in ChainKind]: (typeof KINDS)[K]['upstream'] extends true ? K : never }[ChainKind];

/**
 * Names earlier versions used, still accepted where a user writes an expected kind (a scenario's
 * `culprit.kind`, `toNameCulprit`): each matches any of the kinds it became.
 */
export const KIND_ALIASES = {
  'half-open-read': ['silent-peer'],
  'stalled-write': ['unreachable-peer', 'peer-not-reading'],
} as const satisfies Record<string, readonly CulpritKind[]>;

export type KindAlias = keyof typeof KIND_ALIASES;
/** What a user may write as an expected culprit kind: a culprit kind or an old name for one. */
export type ExpectedKind = CulpritKind | KindAlias;

export function severity(kind: ChainKind): number {
  return KINDS[kind].severity;
}

export function canBeCulprit(kind: ChainKind): kind is CulpritKind {
  return KINDS[kind].culprit;
}

export function isUpstreamKind(kind: ChainKind): kind is UpstreamKind {
  return KINDS[kind].upstream;
}

/** Every culprit kind, in severity order. */
export const CULPRIT_KIND_NAMES = (Object.keys(KINDS) as ChainKind[]).filter(canBeCulprit);
/** Every culprit kind, then the aliases: what an expected kind may be. */
export const EXPECTED_KIND_NAMES: ExpectedKind[] = [...CULPRIT_KIND_NAMES, ...(Object.keys(KIND_ALIASES) as KindAlias[])];

/** Whether the kind a diagnosis named satisfies the kind a user expected (aliases included). */
export function kindMatches(expected: string, named: string): boolean {
  if (expected === named) return true;
  const aliased = (KIND_ALIASES as Record<string, readonly string[]>)[expected];
  return aliased !== undefined && aliased.includes(named);
}

/** Kind -> meaning, as printed after `kind` in the text report. */
export const KIND_MEANING: Record<ChainKind, string> = Object.fromEntries(
  Object.entries(KINDS).map(([kind, k]) => [kind, k.meaning]),
) as Record<ChainKind, string>;
