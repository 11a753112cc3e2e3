/**
 * The shape of one diagnosis-corpus case (test/corpus/cases/*.json), validated before anything
 * starts: a case that cannot be read is a one-line error naming the file and the field.
 *
 * A case is declarative: the processes to start (in order, each until it says "ready"), the
 * commands to run between them (iptables inside the case's own network namespace, a SIGSTOP),
 * when to diagnose, the CLI args, and what a right diagnosis says. Strings may hold placeholders
 * the runner expands (see runner.ts `expand`): {python} {programs} {tmp} {case} {port:NAME}
 * {pid:NAME} {tree:NAME} {mark:NAME} {marks:NAME} {host_ip} {peer_ip}.
 */
import { z } from 'zod';

const argv = z.tuple([z.string().min(1)]).rest(z.string());

const StartStep = z
  .object({
    /** A name for the process: {pid:NAME}, {tree:NAME} refer to it. */
    start: z.string().regex(/^[a-z][a-z0-9-]*$/),
    argv,
    /** Run it inside the case's network namespace (`ip netns exec`, which execs: same pid). */
    netns: z.boolean().optional(),
    /** Wait for a stdout line containing this (default "ready"); null: do not wait. */
    ready: z.string().min(1).nullable().optional(),
    /** Then wait this long before the next step (a process that cannot say when it is ready). */
    settleMs: z.number().int().min(0).max(30_000).optional(),
  })
  .strict();

const ExecStep = z
  .object({
    exec: argv,
    netns: z.boolean().optional(),
  })
  .strict();

const SignalStep = z
  .object({
    signal: z.enum(['SIGSTOP']),
    to: z.string(),
  })
  .strict();

const SleepStep = z.object({ sleepMs: z.number().int().min(1).max(30_000) }).strict();

export const CulpritExpectation = z
  .object({
    /** New kind names (silent-peer, unreachable-peer, peer-not-reading, …); omit: any kind. */
    kind: z.string().optional(),
    /** resource.service as named by --service. */
    service: z.string().optional(),
    /** A substring of resource.path (UNIX sockets, files). */
    path: z.string().optional(),
    /** The culprit's pid: a placeholder such as "{mark:locked}" or "{pid:app}". */
    pid: z.string().optional(),
    /** The culprit's pid is one of these (comma-separated, e.g. "{marks:worker}"). */
    pidIn: z.string().optional(),
    /** The culprit's thread is one of these (e.g. "{marks:handler}"). */
    tidIn: z.string().optional(),
    /** Exactly this many waiters. */
    waiters: z.number().int().min(0).optional(),
    /** At least this many waiters. */
    minWaiters: z.number().int().min(0).optional(),
  })
  .strict();

export const CorpusCase = z
  .object({
    /** What the case is and why the expectation is right (one paragraph). */
    about: z.string().min(20),
    /** Which part of the corpus it belongs to (the coverage table in README.md). */
    area: z.enum([
      'prefork-lock',
      'prefork-nolock',
      'threads',
      'event-loop',
      'unix',
      'bounded-wait',
      'unprivileged',
      'socket-kind',
      'control',
      'app',
      'disk',
    ]),
    /** Create a network namespace with a veth pair: {host_ip} here, {peer_ip} inside it. */
    netns: z.boolean().optional(),
    /** Run with no other case at the same time (it loads the CPU, or times matter). */
    exclusive: z.boolean().optional(),
    steps: z.array(z.union([StartStep, ExecStep, SignalStep, SleepStep])).min(1),
    /** How long after the last step the diagnoser runs. */
    diagnoseAfterMs: z.number().int().min(0).max(60_000),
    /** Arguments after `faultline diagnose` (--json is added). */
    args: z.array(z.string()).min(1),
    /** Run the bin as this unprivileged user (setpriv), on workers owned by root. */
    asUser: z.literal('nobody').optional(),
    expect: z
      .object({
        verdict: z.enum(['stuck', 'healthy', 'inconclusive']),
        culprit: CulpritExpectation.optional(),
      })
      .strict()
      .refine((e) => e.verdict === 'stuck' || e.culprit === undefined, { message: 'only a stuck verdict names a culprit' })
      .refine((e) => e.verdict !== 'stuck' || e.culprit !== undefined, { message: 'a stuck verdict needs expect.culprit' }),
    /** Where the diagnoser cannot be right: why (then the case expects inconclusive). */
    limitation: z.string().optional(),
  })
  .strict();

export type CorpusCase = z.infer<typeof CorpusCase>;
export type CulpritExpectation = z.infer<typeof CulpritExpectation>;
export type Step = CorpusCase['steps'][number];
