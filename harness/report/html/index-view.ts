/** What the index page draws: one row per scenario × variant, and a sweep's heatmap when given. */
import type { ScenarioResult } from '../../scenario/types';
import type { Heatmap } from './heatmap';
import type { RunView } from './view';

export interface IndexRow {
  id: string;
  href: string;
  scenario: string;
  variant: string;
  expected: string;
  verdict: string;
  matched: boolean;
  culprit: string;
  healthP99Ms: number | null;
  recoveryMs?: number;
  durationS: number;
  /** The sparkline: health p99 over time, the fault windows behind it. */
  spark: { p99: RunView['p99']; faults: RunView['faults']; span: RunView['span']; deadlineMs: number };
}

export interface IndexView {
  title: string;
  generatedAt: string;
  rows: IndexRow[];
  heatmap?: Heatmap;
}

export function indexRow(r: ScenarioResult, view: RunView, href: string): IndexRow {
  return {
    id: view.id,
    href,
    scenario: r.scenario,
    variant: r.variant,
    expected: r.expected,
    verdict: r.verdict,
    matched: r.matched,
    culprit: view.culprit,
    healthP99Ms: r.health.p99Ms,
    ...(r.recoveryMs !== undefined ? { recoveryMs: r.recoveryMs } : {}),
    durationS: view.durationS,
    spark: { p99: view.p99, faults: view.faults, span: view.span, deadlineMs: view.deadlineMs },
  };
}
