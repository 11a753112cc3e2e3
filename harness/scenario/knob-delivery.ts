import type { Topology } from '../topology/topology';
import type { KnobSpec, Settings } from './knob-spec';

/** How knob values reach the system under test: the topology (env, sysctls, pool size) or the request. */

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

