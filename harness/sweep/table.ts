import type { SweepResult } from './run';

const ms = (v: number | null | undefined) => (v === null || v === undefined ? '-' : v >= 10_000 ? `${(v / 1000).toFixed(1)} s` : `${Math.round(v)} ms`);

/** The sweep as a terminal table (one row per point), then the boundary lines. */
export function renderSweep(r: SweepResult): string {
  const names = r.knobs.map((k) => k.name);
  const recovery = r.points.some((p) => p.recoveryMs !== undefined);
  const header = [...names, 'verdict', ...(r.repeat > 1 ? ['agreed'] : []), 'model', 'health p50', 'p99', 'errors', 'busy peak', 'saturated after', ...(recovery ? ['recovered after'] : [])];
  const rows = r.points.map((p) => [
    ...names.map((n) => String(p.settings[n])),
    p.verdict,
    ...(r.repeat > 1 ? [`${p.agreed}/${p.runs}`] : []),
    p.model ? p.model.verdict : '-',
    ms(p.health.p50Ms),
    ms(p.health.p99Ms),
    p.health.errorShare === null ? '-' : `${Math.round(p.health.errorShare * 100)}%`,
    `${p.busyPeak}/${p.poolSize}`,
    ms(p.saturationMs),
    ...(recovery ? [ms(p.recoveryMs)] : []),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
  const fixed = Object.entries(r.fixed).map(([k, v]) => `${k}=${v}`).join(' ');
  const out = [
    `sweep ${r.scenario} (${r.variant})${fixed ? `, ${fixed}` : ''}: ${r.points.length} points${r.repeat > 1 ? ` x ${r.repeat}` : ''}, ${(r.durationMs / 1000).toFixed(0)} s`,
    line(header),
    ...rows.map(line),
    '',
    ...renderBoundaries(r),
  ];
  const errors = r.points.filter((p) => p.errors?.length);
  if (errors.length) out.push('', ...errors.map((p) => `error at ${Object.entries(p.settings).map(([k, v]) => `${k}=${v}`).join(' ')}: ${p.errors![0]}`));
  return out.join('\n');
}

/** Boundary, model and recommendation lines (also printed on stderr with --json). */
export function renderBoundaries(r: SweepResult): string[] {
  return r.boundaries.flatMap((b) => [b.line, ...(b.modelLine ? [b.modelLine] : ['  model: none for this scenario']), b.recommendation]);
}
