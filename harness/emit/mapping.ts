/**
 * What an emitted scenario takes from a diagnosis: the lock shape (which bundled app stands in),
 * the culprit's kind mapped to the fault that produces it (faultFor), the pool size, and the
 * upstream's name as a topology service. scenario.ts builds the file from these; templates.ts
 * holds its text.
 */
import { UsageError } from '../errors';
import { validateServiceName } from '../topology/service-name';

/** The fields of a diagnosis (JSON, from any faultline version) the emitter reads. */
export interface Observed {
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

export interface FaultPlan {
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
export function faultFor(kind: string, resource: NonNullable<Observed['culprit']>['resource'], lock: LockShape): FaultPlan {
  const k = kind === 'half-open-read' ? 'silent-peer' : kind === 'stalled-write' ? (/retrans/i.test(resource?.timer ?? '') ? 'unreachable-peer' : 'peer-not-reading') : kind;
  switch (k) {
    case 'silent-peer':
      // The FPM page calls the upstream over HTTP (curl): replies lost is the silent peer there.
      return lock === 'polled'
        ? // Replies lost with nothing in flight stall the next connect (its SYN-ACK lost) instead: a
          // bandwidth toxic keeps alice's answer coming until the fault lands (the polled template's run).
          { call: 'repliesLost(SERVICE)', imports: ['repliesLost', 'toxic'], path: 'read', why: "the upstream's replies (and its FIN/RST) stop reaching the app mid-answer: the worker reads a silent peer", alternatives: 'lostFin(SERVICE) (only the FIN lost)', inFlight: true }
        : { call: 'lostFin(SERVICE)', imports: ['lostFin'], path: 'read', why: "the upstream's FIN is dropped (iptables in the app's netns): the worker reads a half-open connection", alternatives: 'repliesLost(SERVICE) (every reply lost, as after a failover)' };
    case 'unreachable-peer':
      // A partition must land while bytes are in flight (else the next connect stalls instead):
      // a bandwidth toxic keeps the upload's write going until it does (the write scenario's run, templates.ts).
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
