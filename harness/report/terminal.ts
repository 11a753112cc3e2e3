import { REPLAY_NOTE, type ScenarioResult } from '../scenario/types';

/** The culprit a run's diagnosis named, as `kind on service (pid N)`; undefined when none was. */
export function namedCulprit(r: ScenarioResult): string | undefined {
  const c = (r.diagnosis as { culprit?: { kind?: string; pid?: number; resource?: { service?: string } } | null } | undefined)?.culprit;
  return c ? `${c.kind} on ${c.resource?.service ?? '?'} (pid ${c.pid})` : undefined;
}

/** The table's culprit cell: `-` (not diagnosed), `none`, or the named culprit. */
export function culpritOf(r: ScenarioResult): string {
  return r.diagnosis ? (namedCulprit(r) ?? 'none') : '-';
}

/**
 * The table's fault-effect cell: `confirmed` when every fault's effect was, `NOT confirmed: <name>`
 * for the first that was not, `-` when the run injected none (or none could tell).
 */
export function faultEffectOf(r: ScenarioResult): string {
  const measured = r.faults.filter((f) => f.effect);
  if (measured.length === 0) return '-';
  const bad = measured.find((f) => !f.effect!.confirmed);
  return bad ? `NOT confirmed: ${bad.name}` : 'confirmed';
}

/** A word as a shell reads it back: quoted when it holds anything but plain characters. */
const shellWord = (w: string) => (/^[\w.,:/=@%+-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`);

/**
 * The command that replays a result: the scenario (its file when it came from one), the variant,
 * the knob values given, and what the run noted for a replay (a seed it chose itself).
 */
export function replayCommand(r: ScenarioResult, source?: string): string {
  const sets = Object.entries(r.settings ?? {}).map(([k, v]) => `--set ${shellWord(`${k}=${v}`)}`);
  const noted = r.notes.filter((n) => n.name === REPLAY_NOTE && n.detail).map((n) => n.detail!);
  return ['faultline run', shellWord(source ?? r.scenario), '--variant', r.variant, ...sets, ...noted].join(' ');
}

/**
 * The summary table printed at the end of `faultline run`; each failed result gets a line to
 * paste to replay it. `sources` maps a scenario loaded from a file to that file.
 */
export function renderSummary(results: ScenarioResult[], sources: Readonly<Record<string, string>> = {}): string {
  const rows = [
    ['scenario', 'variant', 'expected', 'verdict', 'ok', 'fault effect', 'health p99', 'errors', 'busy', 'culprit', 'data', 'time'],
    ...results.map((r) => [
      r.scenario,
      r.variant,
      r.expected,
      r.verdict,
      r.matched ? 'yes' : 'NO',
      faultEffectOf(r),
      r.health.p99Ms === null ? '-' : `${r.health.p99Ms} ms`,
      `${r.health.errors}/${r.health.total}`,
      `${r.pool.busy}/${r.pool.size}`,
      culpritOf(r),
      r.data ? `${r.data.lost} lost, ${r.data.misreported} misreported of ${r.data.acknowledged} acked` : '-',
      `${(r.durationMs / 1000).toFixed(1)} s`,
    ]),
  ];
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  const lines = rows.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const failed = results.filter((r) => !r.matched);
  const tail = failed.length
    ? `\n${failed.length} of ${results.length} outcomes NOT as expected:\n${failed
        .map((r) => `  ${r.scenario} ${r.variant}: ${r.mismatch?.join('; ')} (run ${r.runId})\n    replay: ${replayCommand(r, sources[r.scenario])}`)
        .join('\n')}`
    : `\nall ${results.length} outcomes as expected`;
  return lines.join('\n') + tail;
}
