import { UsageError } from '../errors';

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

/**
 * Checks a scenario's declarations, where scenarios are validated (harness/scenario/schema.ts):
 * a duplicate name or a default outside its own range is the scenario author's error, refused
 * before any engine work. `where` names the scenario (and its file) in the message.
 */
export function checkKnobSpecs(where: string, specs: readonly KnobSpec[]): void {
  const seen = new Set<string>();
  specs.forEach((k, i) => {
    const at = `${where}: knobs.${i}`;
    if (!NAME.test(k.name)) throw new UsageError(`${at}.name: knob name "${k.name}" must be lower_snake_case`);
    if (seen.has(k.name)) throw new UsageError(`${at}.name: knob "${k.name}" is declared twice: give each knob its own name`);
    seen.add(k.name);
    if ((k.type === 'int' || k.type === 'number') && !(k.min <= k.max)) throw new UsageError(`${at}: knob ${k.name}: min must be <= max`);
    if (k.default !== undefined) parseKnobValue(k, String(k.default), `${at}.default: default of`);
  });
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
