import type { KnobSpec, KnobValue } from '../scenario/knobs';
import type { Verdict } from '../scenario/types';
import type { ModelVerdict } from './model';
import type { SweepPoint } from './point';
import type { SweepAxis } from './plan';

/** Where the verdict changes along one knob, the others held at one combination. */
export interface Boundary {
  knob: string;
  /** The other knobs' values for this line (swept and fixed). */
  context: Record<string, KnobValue>;
  /** Measured verdicts along the knob, in value order. */
  measured: Array<{ value: KnobValue; verdict: Verdict }>;
  /** The model's verdicts at the same values (absent without a model). */
  predicted?: Array<{ value: KnobValue; verdict: ModelVerdict }>;
  /** The model's own edges over the knob's whole range (numeric knobs). */
  modelEdges?: Array<{ below: KnobValue; above: KnobValue; from: ModelVerdict; to: ModelVerdict }>;
  /** yes: same verdict at every point; partly: same hung / not hung; no: otherwise. */
  agreement?: 'yes' | 'partly' | 'no';
  line: string;
  modelLine?: string;
  recommendation: string;
}

export type ModelAt = (settings: Record<string, KnobValue>) => ModelVerdict | undefined;

const ORDER = (k: KnobSpec) => (a: KnobValue, b: KnobValue) =>
  k.type === 'enum' ? k.values.indexOf(String(a)) - k.values.indexOf(String(b)) : Number(a) - Number(b);

function show(k: KnobSpec, v: KnobValue): string {
  if (k.type === 'int' || k.type === 'number') return v === 0 && k.zero ? k.zero : `${v}${k.unit ? ` ${k.unit}` : ''}`;
  return String(v);
}

function describeRuns(k: KnobSpec, seq: Array<{ value: KnobValue; verdict: string }>): string {
  // Runs of equal verdicts: "responsive at ≤ 400 ms, hung at ≥ 600 ms" (or "at 400..600 ms" between).
  const runs: Array<{ verdict: string; from: KnobValue; to: KnobValue }> = [];
  for (const s of seq) {
    const last = runs[runs.length - 1];
    if (last && last.verdict === s.verdict) last.to = s.value;
    else runs.push({ verdict: s.verdict, from: s.value, to: s.value });
  }
  const numeric = k.type === 'int' || k.type === 'number';
  if (runs.length === 1) return `${runs[0].verdict} at every value tried (${seq.map((s) => show(k, s.value)).join(', ')})`;
  return runs
    .map((r, i) => {
      if (!numeric) return `${r.verdict} at ${r.from === r.to ? show(k, r.from) : `${show(k, r.from)}..${show(k, r.to)}`}`;
      if (i === 0) return `${r.verdict} at ≤ ${show(k, r.to)}`;
      if (i === runs.length - 1) return `${r.verdict} at ≥ ${show(k, r.from)}`;
      return `${r.verdict} at ${r.from === r.to ? show(k, r.from) : `${show(k, r.from)}..${show(k, r.to)}`}`;
    })
    .join(', ');
}

/** The model's verdict edges over a numeric knob's range (bisected to the knob's resolution). */
export function modelEdges(k: KnobSpec, base: Record<string, KnobValue>, modelAt: ModelAt): Boundary['modelEdges'] {
  if (k.type !== 'int' && k.type !== 'number') return undefined;
  const at = (v: number) => modelAt({ ...base, [k.name]: v });
  // A geometric grid over the range (timeouts span decades), 0 first when it means something.
  const lo = Math.max(k.min, 1);
  const grid = new Set<number>(k.min === 0 ? [0] : []);
  for (let i = 0; i <= 400; i++) grid.add(k.type === 'int' ? Math.round(lo * (k.max / lo) ** (i / 400)) : lo * (k.max / lo) ** (i / 400));
  const values = [...grid].sort((a, b) => a - b);
  const edges: NonNullable<Boundary['modelEdges']> = [];
  for (let i = 1; i < values.length; i++) {
    let [a, b] = [values[i - 1], values[i]];
    const [va, vb] = [at(a), at(b)];
    if (va === undefined || vb === undefined || va === vb) continue;
    // Bisect to the knob's resolution (1 for integers).
    const step = k.type === 'int' ? 1 : (b - a) / 1024;
    while (b - a > step) {
      const mid = k.type === 'int' ? Math.floor((a + b) / 2) : (a + b) / 2;
      if (at(mid) === va) a = mid;
      else b = mid;
    }
    edges.push({ below: a, above: b, from: va, to: at(b)! });
  }
  return edges;
}

function contextText(context: Record<string, KnobValue>, specs: readonly KnobSpec[]): string {
  const parts = Object.entries(context).map(([name, v]) => {
    const k = specs.find((s) => s.name === name);
    return k ? `${name} ${show(k, v)}` : `${name} ${v}`;
  });
  return parts.length ? `, with ${parts.join(', ')}` : '';
}

/** The model's verdict segments over the knob's range, from its edges. */
function segments(k: KnobSpec & { min: number; max: number }, edges: NonNullable<Boundary['modelEdges']>, first: ModelVerdict) {
  const out: Array<{ from: number; to: number; verdict: ModelVerdict }> = [];
  let from = k.min;
  let verdict = first;
  for (const e of edges) {
    out.push({ from, to: Number(e.below), verdict });
    from = Number(e.above);
    verdict = e.to;
  }
  out.push({ from, to: k.max, verdict });
  return out;
}

function recommend(k: KnobSpec, measured: Boundary['measured'], edges: Boundary['modelEdges'], modelFirst?: ModelVerdict): string {
  const good = measured.filter((m) => m.verdict === 'responsive').map((m) => m.value);
  const numeric = k.type === 'int' || k.type === 'number';
  let modelHint = '';
  if (numeric && edges && modelFirst) {
    const responsive = segments(k, edges, modelFirst).filter((seg) => seg.verdict === 'responsive');
    if (responsive.length) modelHint = `; the model: responsive at ${responsive.map((seg) => (seg.from === seg.to ? show(k, seg.from) : `${show(k, seg.from)}..${show(k, seg.to)}`)).join(', ')}`;
    else modelHint = '; the model: responsive at no value of this knob';
  }
  if (good.length === 0) return `recommendation: no value of ${k.name} tried kept the pool responsive; change another knob${modelHint}`;
  if (good.length === measured.length) return `recommendation: every value of ${k.name} tried kept the pool responsive${modelHint}`;
  if (!numeric) return `recommendation: ${k.name} = ${good.map((g) => show(k, g)).join(' or ')}`;
  const bad = measured.filter((m) => m.verdict !== 'responsive').map((m) => Number(m.value));
  const maxGood = Math.max(...good.map(Number));
  const minGood = Math.min(...good.map(Number));
  // Responsive at the low end (a timeout): the largest safe value; at the high end (pool size,
  // bandwidth): the smallest.
  if (bad.every((b) => b > maxGood)) return `recommendation: ${k.name} ≤ ${show(k, maxGood)} (the largest value tried that stayed responsive${modelHint})`;
  if (bad.every((b) => b < minGood)) return `recommendation: ${k.name} ≥ ${show(k, minGood)} (the smallest value tried that stayed responsive${modelHint})`;
  return `recommendation: ${k.name} = ${good.map((g) => show(k, g)).join(' or ')} (responsive only there${modelHint})`;
}

const hungOrNot = (v: string) => v === 'hung';

/** For each swept knob and each combination of the others: where the verdict changes. */
export function findBoundaries(axes: readonly SweepAxis[], fixed: Record<string, KnobValue>, points: readonly SweepPoint[], specs: readonly KnobSpec[], modelAt?: ModelAt): Boundary[] {
  const out: Boundary[] = [];
  for (const axis of axes) {
    const k = axis.knob;
    const others = axes.filter((a) => a !== axis).map((a) => a.knob.name);
    const groups = new Map<string, SweepPoint[]>();
    for (const p of points) {
      const key = JSON.stringify(others.map((o) => p.settings[o]));
      groups.set(key, [...(groups.get(key) ?? []), p]);
    }
    for (const group of groups.values()) {
      const sorted = [...group].sort((a, b) => ORDER(k)(a.settings[k.name], b.settings[k.name]));
      const context: Record<string, KnobValue> = {};
      for (const o of others) context[o] = sorted[0].settings[o];
      Object.assign(context, fixed);
      const measured = sorted.map((p) => ({ value: p.settings[k.name], verdict: p.verdict }));
      const b: Boundary = {
        knob: k.name,
        context,
        measured,
        line: `${k.name}: ${describeRuns(k, measured)}${contextText(context, specs)}`,
        recommendation: '',
      };
      if (modelAt) {
        const predicted = sorted.map((p) => ({ value: p.settings[k.name], verdict: modelAt(p.settings) }));
        if (predicted.every((p) => p.verdict !== undefined)) {
          b.predicted = predicted as Array<{ value: KnobValue; verdict: ModelVerdict }>;
          b.modelEdges = modelEdges(k, sorted[0].settings, modelAt);
          const same = b.predicted.every((p, i) => p.verdict === measured[i].verdict);
          const sameHung = b.predicted.every((p, i) => hungOrNot(p.verdict) === hungOrNot(measured[i].verdict));
          b.agreement = same ? 'yes' : sameHung ? 'partly' : 'no';
          const edgesText = b.modelEdges?.length
            ? ` (edges: ${b.modelEdges.map((e) => `${e.from} → ${e.to} between ${show(k, e.below)} and ${show(k, e.above)}`).join('; ')})`
            : '';
          const verdictText = {
            yes: 'agrees with the measurement',
            partly: 'agrees on hung / not hung, differs on degraded vs responsive',
            no: `DISAGREES at ${b.predicted.filter((p, i) => hungOrNot(p.verdict) !== hungOrNot(measured[i].verdict)).map((p) => show(k, p.value)).join(', ')} (a finding: see the README)`,
          }[b.agreement];
          b.modelLine = `  model: ${describeRuns(k, b.predicted)}${edgesText}: ${verdictText}`;
        }
      }
      const modelFirst = modelAt && (k.type === 'int' || k.type === 'number') ? modelAt({ ...sorted[0].settings, [k.name]: k.min }) : undefined;
      b.recommendation = `  ${recommend(k, measured, b.modelEdges, modelFirst)}`;
      out.push(b);
    }
  }
  return out;
}
