import type { ActiveFault, Fault } from '../faults/fault';
import type { DataReport } from '../probes/data';
import type { History, LatencySummary } from '../probes/history';
import type { PoolOccupancy } from '../probes/pool';
import type { LoadLoop, SimUser, UserRequest } from '../probes/users';
import type { StartedTopology, Topology } from '../topology/topology';
import type { KnobSpec, KnobValue, Settings } from './knobs';
import type { ExpectedVerdict, Verdict } from './verdicts';

export type Variant = 'incident' | 'fixed';
export const VARIANTS: readonly Variant[] = ['incident', 'fixed'];
/**
 * A note whose detail is a flag a replay of the run needs (`--set upload_seed=N` for a seed the
 * run chose itself): the terminal report adds it to the replay line of a failed result.
 */
export const REPLAY_NOTE = 'replay';

export type { Verdict, ExpectedVerdict } from './verdicts';

export interface PhaseRecord {
  name: string;
  startMs: number;
  endMs: number;
}

/**
 * The wait-for chain an expected culprit heads, as far as the scenario knows it; each field left
 * out is not compared.
 */
export interface ExpectedChain {
  /**
   * The lock the culprit holds and its waiters queue on: a kernel lock type as /proc/locks prints
   * it (`FLOCK`, `POSIX`, `OFDLCK`), or an inferred one (`redis-session-lock`, `polled-lock`).
   */
  lock?: string;
  /** At least this many waiters behind the culprit. */
  minWaiters?: number;
  /** Whether the link is inferred (no kernel lock ties the waiters to the holder) or not. */
  inferred?: boolean;
}

/** A culprit the diagnoser is expected to name (service and kind, and optionally its chain).
 * The kind is one of the diagnoser's culprit kinds or an old name for one (KIND_ALIASES). */
export interface ExpectedCulprit {
  service: string;
  kind: string;
  chain?: ExpectedChain;
}

/** A culprit as a diagnosis named it, with the chain it heads (harness/scenario/culprit.ts). */
export interface CulpritSummary {
  kind: string;
  service?: string;
  pid?: number;
  chain?: {
    /** The type of the first lock the culprit holds (FLOCK, redis-session-lock …), if any. */
    lock?: string;
    waiters: number;
    inferred: boolean;
  };
}

export interface WorkerSpec {
  /** Process name (/proc/PID/comm) of the pool's master and workers. */
  comm: string;
  /** Full command lines the diagnoser starts from (default: the comm). */
  match?: RegExp;
}

export interface VariantSpec {
  expected: ExpectedVerdict;
  /**
   * For hung variants: what the diagnosis must name. A fixed variant without one is diagnosed at
   * the same moment and must name no culprit (a culprit named there is a false alarm: a mismatch).
   */
  culprit?: ExpectedCulprit;
  /** The pool must answer health again within this long after the heal (measured by the scenario). */
  recoversWithinMs?: number;
}

/** What the queueing model (harness/sweep/model.ts) needs to predict a verdict: a scenario's `queueModel` returns it. */
export interface QueueModelInput {
  /** Worker pool size N. */
  workers: number;
  /** The user's reload interval R (ms). */
  reloadEveryMs: number;
  /** Whether the session lock is held across the upstream call (serialises the session). */
  lockAcrossIo: boolean;
  /** How long the fault holds an upstream call with no limit at all (Infinity: forever). */
  faultHoldMs: number;
  /** The app's limits on that call (ms; undefined or 0 = none). */
  limitsMs: Array<number | undefined>;
  /** The verdict window W (ms): the fault under load. */
  observeMs: number;
}

export interface ScenarioContext {
  readonly scenario: string;
  readonly variant: Variant;
  readonly topo: StartedTopology;
  readonly history: History;
  readonly signal: AbortSignal;
  /**
   * `--full-windows`: observe windows run to their maximum instead of ending once their verdict
   * is settled (harness/scenario/schedule.ts `observe`).
   */
  readonly fullWindows: boolean;
  /** Runs `body` as a named phase (recorded in the history, reported as progress). */
  phase<T>(name: string, body: () => Promise<T>): Promise<T>;
  inject(fault: Fault): Promise<ActiveFault>;
  user(name: string): SimUser;
  /**
   * A background loop of requests by `user` (default: a fresh anonymous user per request). Pass
   * a function to make each request anew (a fresh upload key and body, say).
   */
  loop(req: UserRequest | (() => UserRequest), everyMs: number, user?: SimUser): LoadLoop;
  /** Samples pool occupancy (also recorded in the history). */
  samplePool(): Promise<PoolOccupancy>;
  sleep(ms: number): Promise<void>;
  /**
   * Runs the diagnoser against the web (while the fault is in place) and keeps its result for the
   * report. Returns undefined when the run has no diagnoser.
   */
  diagnose(): Promise<DiagnosisOutcome | undefined>;
  /** Notes a fact for the report. */
  note(name: string, detail?: string): void;
  /** Records how long after the heal the pool answered again (reported as `recoveryMs`). */
  recordRecovery(ms: number): void;
  /** The run's knob settings, complete (every declared knob; undefined = the variant's own). */
  readonly settings: Settings;
  /** One declared knob's value (undefined = the variant's own behaviour). */
  knob(name: string): KnobValue | undefined;
}

/** What a diagnosis contributes to a result: its JSON, the culprit it named, and the runner-up. */
export interface DiagnosisOutcome {
  json: unknown;
  culprit: CulpritSummary | null;
  /** The second plausible culprit chain, when the diagnosis found one. */
  secondCulprit?: CulpritSummary;
}

export interface Scenario {
  name: string;
  /** One line: what the scenario shows. */
  summary: string;
  /** The incident or failure class it replays. */
  shows: string;
  /** The variants the scenario has: at least one (the CLI runs both unless told otherwise). */
  variants: Partial<Record<Variant, VariantSpec>>;
  /**
   * The web tier's worker processes, for pool occupancy and diagnosis. Default: Apache prefork
   * (`apache2`). A user's app names its own (e.g. `{ comm: 'python3', match: /app\.py/ }`).
   */
  workers?: WorkerSpec;
  /** Adjusts the topology (workers, storage nodes, a user's web image ...), given the run's knob settings. */
  topology?(t: Topology, settings: Settings): Topology;
  /**
   * The parameters the scenario takes (`faultline sweep X --knobs`). Pool size, web env and web
   * sysctl knobs are applied to the topology by the runner; the scenario reads the others with
   * `ctx.knob(name)`.
   */
  knobs?: readonly KnobSpec[];
  /** The queueing model's inputs for these settings (`faultline sweep` prints its prediction beside the measurement). */
  queueModel?(settings: Settings, variant: Variant): QueueModelInput | undefined;
  /**
   * Uploads happen: after the run, every upload answer is checked against storage
   * (`data` in the result; lost or misreported data changes the verdict).
   */
  checksData?: boolean;
  /** Runs the phases: steady → inject → observe → heal → recover (`runSchedule` for the common shape). */
  run(ctx: ScenarioContext): Promise<void>;
  /** Judges the recorded history. Default: the health probe's behaviour during "observe". */
  judge?(ctx: JudgeInput): Verdict;
}

export interface JudgeInput {
  history: History;
  variant: Variant;
  poolSize: number;
  data?: DataReport;
}

export interface ScenarioResult {
  scenario: string;
  variant: Variant;
  expected: ExpectedVerdict;
  verdict: Verdict;
  matched: boolean;
  /** Why matched is false, when it is. */
  mismatch?: string[];
  health: Pick<LatencySummary, 'p50Ms' | 'p99Ms' | 'errors' | 'total'>;
  pool: { busy: number; size: number };
  phases: PhaseRecord[];
  faults: Array<{
    name: string;
    layer: string;
    description: string;
    injectedAtMs: number;
    healedAtMs?: number;
    /** What the fault did while in place (rule counters, toxic and proxy traffic, container state). */
    effect?: { confirmed: boolean; evidence: string[] };
  }>;
  diagnosis?: unknown;
  /**
   * The second plausible culprit chain of the diagnosis (the next chain able to be a culprit after
   * the one named), when there is one: where a wrong culprit was named, often the right one.
   */
  secondCulprit?: CulpritSummary;
  data?: { acknowledged: number; lost: number; misreported: number; problems?: string[] };
  /** Time from the heal until health answered again, when the scenario measured it. */
  recoveryMs?: number;
  /** The knobs given a value for this run (defaults left out). */
  settings?: Record<string, KnobValue>;
  runId: string;
  durationMs: number;
  /** Time outside the phases (ms): the topology's start, and the teardown after the last phase's body. */
  stages?: { startMs: number; teardownMs: number };
  notes: Array<{ name: string; detail?: string }>;
  error?: string;
  /**
   * The recorded history the verdict was judged from, for reports: every request (times in ms
   * since the run's origin), pool occupancy samples and the events (phases, faults, heals, notes).
   */
  timeline?: Timeline;
}

export interface Timeline {
  requests: Array<{ kind: string; user?: string; start: number; end: number; outcome: string; status?: number }>;
  pool: Array<{ t: number; busy: number; size: number }>;
  events: Array<{ t: number; kind: string; name: string; detail?: string }>;
}
