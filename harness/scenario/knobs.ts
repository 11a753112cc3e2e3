import { FaultlineError, UsageError } from '../errors';
import type { Topology } from '../topology/topology';

/**
 * Knobs: the parameters a scenario takes (a timeout, the pool size, the user's reload interval,
 * the fault's severity ...). A scenario declares them; `--set name=value` and `--vary
 * name=v1,v2` are checked against the declarations and resolved into one complete `Settings`
 * object before any engine work; the run reads its values through `ctx.knob(name)`.
 */

export type KnobValue = number | boolean | string;

/** How a knob's value reaches the system under test. */
export type KnobTarget =
  /** An env var of the web container (the bundled app, or a user's image that reads it). */
  | { kind: 'web-env'; name: string }
  /** A query parameter the scenario adds to its requests. */
  | { kind: 'query'; name: string }
  /** The size of the web's worker pool (Topology.withMaxWorkers). */
  | { kind: 'pool-size' }
  /** How often the simulated user sends a request (the scenario's load). */
  | { kind: 'load-rate'; what: string }
  /** A parameter of the injected fault (latency ms, bandwidth KB/s, delay ...). */
  | { kind: 'fault-severity'; fault: string; param: string }
  /** A sysctl of the web's network namespace (net.ipv4.tcp_keepalive_* ...). */
  | { kind: 'web-sysctl'; name: string }
  /** A sysctl of Toxiproxy's network namespace: the upstream side of every proxied connection. */
  | { kind: 'proxy-sysctl'; name: string }
  /** The scenario's own timing (how long it observes, how long it waits for a recovery). */
  | { kind: 'scenario'; what: string };

interface KnobBase {
  name: string;
  /** One line: what it is, in the user's words. */
  summary: string;
  reaches: KnobTarget;
}

export type KnobSpec = KnobBase &
  (
    | {
        type: 'int' | 'number';
        unit: string;
        min: number;
        max: number;
        /** Absent: the variant's own behaviour (e.g. the incident code has no timeout at all). */
        default?: number;
        /** What 0 means, when it means something special ("no limit"). */
        zero?: string;
      }
    | { type: 'bool'; unit?: undefined; default?: boolean }
    | { type: 'enum'; unit?: undefined; values: readonly string[]; default?: string }
  );

/** Every declared knob, by name: its value, or undefined for "the variant's own behaviour". */
export type Settings = Readonly<Record<string, KnobValue | undefined>>;

const NAME = /^[a-z][a-z0-9_]*$/;

/** Checks a scenario's declarations once (a typo in a scenario file is its author's error). */
export function checkKnobSpecs(scenario: string, specs: readonly KnobSpec[]): void {
  const seen = new Set<string>();
  for (const k of specs) {
    if (!NAME.test(k.name)) throw new UsageError(`scenario ${scenario}: knob name "${k.name}" must be lower_snake_case`);
    if (seen.has(k.name)) throw new UsageError(`scenario ${scenario}: knob "${k.name}" is declared twice`);
    seen.add(k.name);
    if ((k.type === 'int' || k.type === 'number') && !(k.min <= k.max)) throw new UsageError(`scenario ${scenario}: knob ${k.name}: min must be <= max`);
    if (k.default !== undefined) parseKnobValue(k, String(k.default), `scenario ${scenario}: default of`);
  }
}

/** "an integer in ms from 0 to 600000 (0 = no limit)" */
export function describeKnobType(k: KnobSpec): string {
  switch (k.type) {
    case 'int':
    case 'number':
      return `${k.type === 'int' ? 'an integer' : 'a number'}${k.unit ? ` in ${k.unit}` : ''} from ${k.min} to ${k.max}${k.zero ? ` (0 = ${k.zero})` : ''}`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${k.values.join(', ')}`;
  }
}

/** Parses one value of a knob, or a one-line UsageError naming the knob and what it takes. */
export function parseKnobValue(k: KnobSpec, raw: string, where = ''): KnobValue {
  const bad = () => new UsageError(`${where ? `${where} ` : ''}${k.name}=${raw}: ${k.name} must be ${describeKnobType(k)}`);
  const text = raw.trim();
  switch (k.type) {
    case 'int':
    case 'number': {
      if (!/^-?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) throw bad();
      const n = Number(text);
      if (!Number.isFinite(n) || (k.type === 'int' && !Number.isInteger(n)) || n < k.min || n > k.max) throw bad();
      return n;
    }
    case 'bool':
      if (/^(true|yes|on|1)$/i.test(text)) return true;
      if (/^(false|no|off|0)$/i.test(text)) return false;
      throw bad();
    case 'enum':
      if (!k.values.includes(text)) throw bad();
      return text;
  }
}

function findKnob(scenario: string, specs: readonly KnobSpec[], name: string, flag: string): KnobSpec {
  const k = specs.find((s) => s.name === name);
  if (k) return k;
  const known = specs.length ? `its knobs are ${specs.map((s) => s.name).join(', ')}` : 'it takes no knobs';
  throw new UsageError(`${flag} ${name}: ${scenario} has no knob "${name}"; ${known} (see \`faultline sweep ${scenario} --knobs\`)`);
}

function splitAssignment(text: string, flag: string): [string, string] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new UsageError(`${flag} ${text}: expected name=value (e.g. ${flag} read_timeout_ms=500)`);
  return [text.slice(0, eq).trim(), text.slice(eq + 1)];
}

/** `--set name=value`, checked against the declarations. */
export function parseSet(scenario: string, specs: readonly KnobSpec[], text: string): [string, KnobValue] {
  const [name, raw] = splitAssignment(text, '--set');
  const k = findKnob(scenario, specs, name, '--set');
  if (raw.trim() === '') throw new UsageError(`--set ${name}=: give a value; ${name} must be ${describeKnobType(k)}`);
  return [name, parseKnobValue(k, raw, '--set')];
}

/** `--vary name=v1,v2,...`: the values in the order given, duplicates refused. */
export function parseVary(scenario: string, specs: readonly KnobSpec[], text: string): [string, KnobValue[]] {
  const [name, raw] = splitAssignment(text, '--vary');
  const k = findKnob(scenario, specs, name, '--vary');
  const parts = raw.split(',').map((p) => p.trim()).filter((p) => p !== '');
  if (parts.length === 0) throw new UsageError(`--vary ${name}=: the list of values is empty; give one or more, e.g. --vary ${name}=${exampleValues(k)}`);
  const values = parts.map((p) => parseKnobValue(k, p, '--vary'));
  const dup = values.find((v, i) => values.indexOf(v) !== i);
  if (dup !== undefined) throw new UsageError(`--vary ${name}: ${dup} is listed twice`);
  return [name, values];
}

function exampleValues(k: KnobSpec): string {
  if (k.type === 'bool') return 'true,false';
  if (k.type === 'enum') return k.values.join(',');
  return `${k.min},${k.max}`;
}

/**
 * The complete settings of one run: every declared knob, from its default or the given value.
 * Unknown names and bad values are refused (one line naming the knob).
 */
export function resolveSettings(scenario: string, specs: readonly KnobSpec[], given: Readonly<Record<string, KnobValue>> = {}): Settings {
  const out: Record<string, KnobValue | undefined> = {};
  for (const k of specs) out[k.name] = k.default;
  for (const [name, value] of Object.entries(given)) {
    const k = findKnob(scenario, specs, name, '--set');
    out[name] = parseKnobValue(k, String(value), '--set');
  }
  return Object.freeze(out);
}

/** The knobs that were given a value (defaults left out), for results and tables. */
export function explicitSettings(specs: readonly KnobSpec[], settings: Settings): Record<string, KnobValue> {
  const out: Record<string, KnobValue> = {};
  for (const k of specs) {
    const v = settings[k.name];
    if (v !== undefined && v !== k.default) out[k.name] = v;
  }
  return out;
}

/**
 * Applies the knobs that shape the topology (pool size, web env, web and proxy sysctls). Knobs that reach
 * the app per request (query, load rate, fault severity) are the scenario's to read.
 */
export function applyTopologyKnobs(t: Topology, specs: readonly KnobSpec[], settings: Settings): Topology {
  const sysctls: Record<string, string> = {};
  const proxySysctls: Record<string, string> = {};
  const env: Record<string, string> = {};
  for (const k of specs) {
    const v = settings[k.name];
    if (v === undefined) continue;
    const r = k.reaches;
    if (r.kind === 'pool-size') t.withMaxWorkers(Number(v));
    else if (r.kind === 'web-env') env[r.name] = k.type === 'bool' ? (v ? '1' : '0') : String(v);
    else if (r.kind === 'web-sysctl') sysctls[r.name] = k.type === 'bool' ? (v ? '1' : '0') : String(v);
    else if (r.kind === 'proxy-sysctl') proxySysctls[r.name] = k.type === 'bool' ? (v ? '1' : '0') : String(v);
  }
  if (Object.keys(proxySysctls).length) t.withProxySysctls(proxySysctls);
  if (Object.keys(env).length) t.withWebEnv(env);
  if (Object.keys(sysctls).length) t.withWebSysctls(sysctls);
  return t;
}

/** Query parameters for the knobs that reach the app through the request. */
export function knobQuery(specs: readonly KnobSpec[], settings: Settings): string {
  const q = new URLSearchParams();
  for (const k of specs) {
    const v = settings[k.name];
    if (v === undefined || k.reaches.kind !== 'query') continue;
    q.set(k.reaches.name, k.type === 'bool' ? (v ? '1' : '0') : String(v));
  }
  return q.toString();
}

/** Reads a declared knob; asking for an undeclared one is the scenario author's bug. */
export function readKnob(scenario: string, settings: Settings, name: string): KnobValue | undefined {
  if (!(name in settings)) throw new FaultlineError('FAULTLINE_SCENARIO_FAILED', `${scenario}: reads knob "${name}", which it does not declare`);
  return settings[name];
}

/** `faultline sweep X --knobs`: one knob a line, the name first. */
export function formatKnobList(specs: readonly KnobSpec[]): string {
  const rows = specs.map((k) => [
    k.name,
    k.type,
    k.unit ?? '-',
    k.default === undefined ? '(unset)' : String(k.default),
    k.type === 'int' || k.type === 'number' ? `${k.min}..${k.max}` : k.type === 'enum' ? k.values.join('|') : 'true|false',
    `${describeTarget(k.reaches)}: ${k.summary}${k.type !== 'bool' && k.type !== 'enum' && k.zero ? ` (0 = ${k.zero})` : ''}`,
  ]);
  const widths = [0, 1, 2, 3, 4].map((i) => Math.max(...rows.map((r) => r[i].length), 4));
  return rows.map((r) => r.map((c, i) => (i < 5 ? c.padEnd(widths[i]) : c)).join('  ')).join('\n');
}

export function describeTarget(r: KnobTarget): string {
  switch (r.kind) {
    case 'web-env':
      return `env ${r.name}`;
    case 'query':
      return `query ${r.name}`;
    case 'pool-size':
      return 'pool size';
    case 'load-rate':
      return `load: ${r.what}`;
    case 'fault-severity':
      return `fault ${r.fault}: ${r.param}`;
    case 'web-sysctl':
      return `web sysctl ${r.name}`;
    case 'proxy-sysctl':
      return `toxiproxy sysctl ${r.name}`;
    case 'scenario':
      return `scenario: ${r.what}`;
  }
}
