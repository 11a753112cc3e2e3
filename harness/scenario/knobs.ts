/**
 * Knobs: the parameters a scenario takes (a timeout, the pool size, the user's reload interval,
 * the fault's severity ...). A scenario declares them; `--set name=value` and `--vary
 * name=v1,v2` are checked against the declarations and resolved into one complete `Settings`
 * object before any engine work; the run reads its values through `ctx.knob(name)`.
 */

export { checkKnobSpecs, describeKnobType, describeTarget, formatKnobList, parseKnobValue, type KnobSpec, type KnobTarget, type KnobValue, type Settings } from './knob-spec';
export { parseSet, parseVary } from './knob-value';
export { explicitSettings, readKnob, resolveSettings } from './knob-settings';
export { applyTopologyKnobs, knobQuery } from './knob-delivery';
