import { FaultlineError } from '../errors';
import { parseKnobValue, type KnobSpec, type KnobValue, type Settings } from './knob-spec';
import { findKnob } from './knob-value';

/** A run's settings: every declared knob resolved once, and read through `ctx.knob(name)`. */

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

/** Reads a declared knob; asking for an undeclared one is the scenario author's bug. */
export function readKnob(scenario: string, settings: Settings, name: string): KnobValue | undefined {
  if (!(name in settings)) throw new FaultlineError('FAULTLINE_SCENARIO_FAILED', `${scenario}: reads knob "${name}", which it does not declare`);
  return settings[name];
}

