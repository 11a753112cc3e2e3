import { UsageError } from '../errors';
import { describeKnobType, parseKnobValue, type KnobSpec, type KnobValue } from './knob-spec';

/** Knob values as users type them (`--set name=value`, `--vary name=v1,v2`), checked against the declarations. */

export function findKnob(scenario: string, specs: readonly KnobSpec[], name: string, flag: string): KnobSpec {
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

