/**
 * The one schema a scenario object is checked against, before any engine work: by the CLI for
 * bundled and user scenarios, and by library users through `validateScenario(s)`. It is also
 * published as JSON Schema for editors (`schema/scenario.schema.json`, generated from this file by
 * `npm run schema`; a unit test keeps the two equal).
 */
import { z } from 'zod';
import { CULPRIT_KIND_NAMES, EXPECTED_KIND_NAMES, KIND_ALIASES, isUpstreamKind, type ExpectedKind } from '../diagnose/kinds';
import { UsageError } from '../errors';
import { SERVICE_NAME, SERVICE_NAME_RULE } from '../topology/names';
import { checkKnobSpecs } from './knob-spec';
import { RUN_TIMEOUT_MS } from './limits';
import { VARIANTS, type Scenario, type Variant, type Verdict } from './types';

/** Verdicts a variant may expect ('error' is what a run that could not run gets, never an expectation). */
export const EXPECTABLE_VERDICTS = ['hung', 'responsive', 'degraded', 'data-misreported', 'data-lost'] as const;
/**
 * Kinds a variant may expect of its culprit: the diagnoser's culprit kinds (harness/diagnose/kinds.ts,
 * the one table) and the old names it still accepts as aliases.
 */
export const CULPRIT_KINDS = EXPECTED_KIND_NAMES as [ExpectedKind, ...ExpectedKind[]];
const UPSTREAM_KINDS = CULPRIT_KIND_NAMES.filter(isUpstreamKind);
const ALIAS_TEXT = Object.entries(KIND_ALIASES)
  .map(([old, now]) => `${old} = ${now.join(' or ')}`)
  .join('; ');

// The list above restates a type union: this fails to compile when either side changes alone.
type Exactly<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const verdictsMatch: Exactly<(typeof EXPECTABLE_VERDICTS)[number], Exclude<Verdict, 'error'>> = true;
void verdictsMatch;

/**
 * Scenario names become part of container names, JUnit test names and report files: lower-case,
 * so two names never collide on a case-insensitive file system, and within Docker's name alphabet.
 */
const SAFE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** /proc/PID/comm holds at most 15 bytes (TASK_COMM_LEN 16): a longer name never matches. */
const COMM = /^[A-Za-z0-9_.:+@-]{1,15}$/;
/** A recovery bound past the runner's own limit for one run could never be checked. */
const MAX_RECOVERY_MS = RUN_TIMEOUT_MS;

const fn = (what: string) =>
  z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { error: `must be a function (${what})` }).meta({ description: `A function: ${what}. TypeScript/JavaScript only.` });

/** Lock types a chain can show: /proc/locks' kernel types, and the diagnoser's inferred ones. */
export const CHAIN_LOCK_TYPES = ['FLOCK', 'POSIX', 'OFDLCK', 'LEASE', 'DELEG', 'redis-session-lock', 'polled-lock'] as const;

const KERNEL_LOCK_TYPES: ReadonlySet<string> = new Set(['FLOCK', 'POSIX', 'OFDLCK', 'LEASE', 'DELEG']);

const chainSchema = z
  .strictObject({
    lock: z
      .enum(CHAIN_LOCK_TYPES, { error: `must be one of ${CHAIN_LOCK_TYPES.join(', ')}` })
      .optional()
      .meta({ description: 'The lock the culprit holds and its waiters queue on: a kernel lock type as /proc/locks prints it, or an inferred one.' }),
    minWaiters: z
      .number({ error: 'must be a number of waiting processes' })
      .int({ error: 'must be a whole number of waiting processes' })
      .min(1, { error: 'must be at least 1 (leave it out to not compare waiters)' })
      .max(4096, { error: 'must be at most 4096 (more processes than a pool holds)' })
      .optional()
      .meta({ description: 'At least this many waiters behind the culprit.' }),
    inferred: z
      .boolean({ error: 'must be true (no kernel lock ties the waiters: an inferred convoy) or false (a kernel lock)' })
      .optional()
      .meta({ description: 'Whether the link between the waiters and the culprit is inferred (no kernel lock ties them).' }),
  })
  .refine((c) => !(c.inferred === true && c.lock !== undefined && KERNEL_LOCK_TYPES.has(c.lock)), {
    error: 'must be false or left out with a kernel lock type (FLOCK, POSIX, OFDLCK, LEASE, DELEG): those are in /proc/locks',
    path: ['inferred'],
  })
  .refine((c) => !(c.inferred === false && (c.lock === 'redis-session-lock' || c.lock === 'polled-lock')), {
    error: 'must be true or left out with an inferred lock type (redis-session-lock, polled-lock): no kernel lock ties those',
    path: ['inferred'],
  })
  .meta({ description: 'The wait-for chain the culprit heads; a field left out is not compared.' });

const culpritSchema = z
  .strictObject({
    service: z.string({ error: 'must be a service name such as "profile"' }).regex(SERVICE_NAME, { error: `must be a service name (${SERVICE_NAME_RULE}), like "profile" or "storage-1"` }),
    kind: z.enum(CULPRIT_KINDS, { error: `must be one of ${CULPRIT_KINDS.join(', ')}` }).meta({
      description: `The kind of wait. Waits on an upstream (the service is the peer): ${UPSTREAM_KINDS.join(', ')}. Old names still accepted: ${ALIAS_TEXT}.`,
    }),
    chain: chainSchema.optional(),
  })
  .meta({ description: 'The culprit the diagnoser must name: the upstream service and the kind of wait.' });

const variantSchema = z
  .strictObject({
    expected: z.enum(EXPECTABLE_VERDICTS, { error: `must be one of ${EXPECTABLE_VERDICTS.join(', ')}` }).meta({ description: 'The verdict this variant must get.' }),
    culprit: culpritSchema.optional(),
    recoversWithinMs: z
      .number({ error: 'must be a number of milliseconds' })
      .int({ error: 'must be a whole number of milliseconds' })
      .positive({ error: 'must be more than 0 ms' })
      .max(MAX_RECOVERY_MS, { error: `must be at most ${MAX_RECOVERY_MS} ms (a run's own limit)` })
      .optional()
      .meta({ description: 'The pool must answer health again within this long after the heal.' }),
  })
  .meta({ description: 'What a variant is expected to do.' });

const knobTargetSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('web-env'), name: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, { error: 'must be an env var name' }) }),
    z.strictObject({ kind: z.literal('query'), name: z.string().min(1) }),
    z.strictObject({ kind: z.literal('pool-size') }),
    z.strictObject({ kind: z.literal('load-rate'), what: z.string().min(1) }),
    z.strictObject({ kind: z.literal('fault-severity'), fault: z.string().min(1), param: z.string().min(1) }),
    z.strictObject({ kind: z.literal('web-sysctl'), name: z.string().regex(/^net\./, { error: 'must be a net.* sysctl (only those are per network namespace)' }) }),
    z.strictObject({ kind: z.literal('proxy-sysctl'), name: z.string().regex(/^net\./, { error: 'must be a net.* sysctl (only those are per network namespace)' }) }),
    z.strictObject({ kind: z.literal('scenario'), what: z.string().min(1) }),
  ], { error: 'must say how the knob reaches the app: { kind: "web-env" | "query" | "pool-size" | "load-rate" | "fault-severity" | "web-sysctl" | "proxy-sysctl" | "scenario", ... }' })
  .meta({ description: 'How the value reaches the system under test.' });

const KNOB_NAME = /^[a-z][a-z0-9_]*$/;
const knobBase = {
  name: z.string({ error: 'must be a string' }).regex(KNOB_NAME, { error: 'must be lower_snake_case' }),
  summary: z.string({ error: 'must be a string' }).min(1, { error: 'must not be empty' }),
  reaches: knobTargetSchema,
};
const knobSchema = z
  .discriminatedUnion('type', [
    z.strictObject({
      ...knobBase,
      type: z.enum(['int', 'number']),
      unit: z.string(),
      min: z.number(),
      max: z.number(),
      default: z.number().optional(),
      zero: z.string().optional(),
    }),
    z.strictObject({ ...knobBase, type: z.literal('bool'), unit: z.undefined().optional(), default: z.boolean().optional() }),
    z.strictObject({ ...knobBase, type: z.literal('enum'), unit: z.undefined().optional(), values: z.array(z.string()).min(1), default: z.string().optional() }),
  ], { error: 'must be a knob: { name, summary, reaches, type: "int" | "number" | "bool" | "enum", ... }' })
  .meta({ description: 'A parameter the scenario takes (`faultline run --set`, `faultline sweep --vary`).' });

export const scenarioSchema = z
  .strictObject({
    name: z
      .string({ error: 'must be a string' })
      .regex(SAFE_NAME, { error: 'must be 1-64 lower-case letters, digits, "-" or "_", starting with a letter or digit (it becomes part of container names)' })
      .meta({ description: 'Unique among the scenarios of a run; part of container names and reports.' }),
    summary: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' }).max(300, { error: 'must be one line of at most 300 characters' }),
    shows: z.string({ error: 'must be a string' }).trim().min(1, { error: 'must not be empty' }).max(300, { error: 'must be one line of at most 300 characters' }),
    variants: z
      .strictObject(
        { incident: variantSchema.optional(), fixed: variantSchema.optional() },
        { error: 'must be an object with an incident and/or a fixed variant, e.g. { incident: { expected: "hung" } }' },
      )
      .refine((v) => v.incident !== undefined || v.fixed !== undefined, { error: 'needs at least one of incident, fixed' })
      .meta({ description: 'The variants (the code as it was, and as fixed) with their expected outcome.' }),
    workers: z
      .strictObject({
        comm: z.string({ error: 'must be a string' }).regex(COMM, { error: 'must be a process name as /proc/PID/comm shows it: 1-15 letters, digits or _ . : + @ -' }),
        match: z.instanceof(RegExp, { error: 'must be a regular expression, e.g. /app\\.py/' }).optional().meta({ description: 'A RegExp over full command lines.' }),
      })
      .optional()
      .meta({ description: "The web tier's worker processes (default: Apache prefork, comm apache2)." }),
    topology: fn('(t: Topology) => Topology').optional(),
    checksData: z.boolean({ error: 'must be true or false' }).optional(),
    knobs: z.array(knobSchema, { error: 'must be an array of knob declarations' }).optional().meta({ description: 'The knobs the scenario takes (faultline sweep <scenario> --knobs lists them).' }),
    queueModel: fn('(settings, variant) => QueueModelInput | undefined: what the queueing model needs to predict the verdict').optional(),
    run: fn('(ctx: ScenarioContext) => Promise<void>'),
    judge: fn('(input: JudgeInput) => Verdict').optional(),
  })
  .meta({ title: 'faultline scenario', description: 'A faultline scenario: what to run, and what each variant is expected to do.' });

/** The first problem as `path: what is wrong`, in the words a user can act on. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.map(String).join('.');
  if (issue.code === 'unrecognized_keys') {
    const where = path ? `${path}.` : '';
    const allowed = path === 'variants' ? ' (variants are incident and fixed)' : path === '' ? ` (a scenario has ${Object.keys(scenarioSchema.shape).join(', ')})` : '';
    return `${where}${issue.keys[0]}: unknown field${allowed}`;
  }
  const input = (issue as { input?: unknown }).input;
  if (input === undefined) return `${path || 'scenario'}: is required and ${issue.message}`;
  const got = typeof input === 'object' && !(input instanceof RegExp) && !Array.isArray(input) ? '' : `, got ${show(input)}`;
  return `${path || 'scenario'}: ${issue.message}${got}`;
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'function') return 'a function';
  if (value instanceof RegExp) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (value === null || typeof value !== 'object') return String(value);
  return 'an object';
}

function label(value: unknown, source: string | undefined): string {
  const name = typeof value === 'object' && value !== null ? (value as { name?: unknown }).name : undefined;
  const scenario = typeof name === 'string' && name !== '' ? `scenario "${name.slice(0, 64)}"` : 'scenario';
  return source ? `${source}: ${scenario}` : scenario;
}

/**
 * Checks one scenario object against the schema; returns it unchanged, or throws a UsageError of
 * one line naming the scenario (and `source`, e.g. its file) and the first bad field.
 */
export function validateScenario(value: unknown, source?: string): Scenario {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`${label(value, source)}: must be an object with name, summary, shows, variants and run, got ${show(value)}`);
  }
  const parsed = scenarioSchema.safeParse(value, { reportInput: true });
  if (!parsed.success) throw new UsageError(`${label(value, source)}: ${describeIssue(parsed.error.issues[0])}`);
  // What a schema cannot say: knob names unique, each default inside its own range.
  checkKnobSpecs(label(value, source), (value as Scenario).knobs ?? []);
  return value as Scenario;
}

/**
 * What a run needs before any engine work: every scenario valid, names unique, and every selected
 * variant present in every scenario. `sources[i]` says where `scenarios[i]` came from (a file
 * path; undefined for bundled ones). Throws one UsageError for the first problem.
 */
export function validateScenarios(scenarios: readonly unknown[], variants: readonly Variant[], sources: ReadonlyArray<string | undefined> = []): Scenario[] {
  const seen = new Map<string, string>();
  return scenarios.map((scenario, i) => {
    const source = sources[i];
    const valid = validateScenario(scenario, source);
    const first = seen.get(valid.name);
    if (first !== undefined) {
      throw new UsageError(`${label(valid, source)}: name: "${valid.name}" is already the name of another scenario in this run (${first}): give each scenario its own name`);
    }
    seen.set(valid.name, source ?? 'bundled');
    for (const variant of variants) {
      if (valid.variants[variant]) continue;
      const others = VARIANTS.filter((v) => v !== variant && valid.variants[v]);
      throw new UsageError(
        `${label(valid, source)}: variants.${variant}: the scenario has no ${variant} variant: add variants.${variant}${others.length ? `, or run it with --variant ${others.join(' or ')}` : ''}`,
      );
    }
    return valid;
  });
}

/** The JSON Schema editors use, as committed in schema/scenario.schema.json. */
export function scenarioJsonSchemaText(): string {
  const schema = z.toJSONSchema(scenarioSchema, { unrepresentable: 'any', io: 'input' });
  return `${JSON.stringify(schema, null, 2)}\n`;
}
