import type { ScenarioResult } from '../scenario/types';
import { culpritOf, namedCulprit } from './terminal';

const escape = (s: string) =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** JUnit XML: one test case per scenario x variant; a mismatch is a failure with its reasons. */
export function toJUnit(results: ScenarioResult[]): string {
  const failures = results.filter((r) => !r.matched).length;
  const total = results.reduce((s, r) => s + r.durationMs, 0) / 1000;
  const cases = results.map((r) => {
    const name = escape(`${r.scenario} [${r.variant}] is ${r.expected}`);
    const head = `  <testcase classname="faultline.${escape(r.scenario)}" name="${name}" time="${(r.durationMs / 1000).toFixed(3)}">`;
    const out = `    <system-out>${escape(JSON.stringify({ verdict: r.verdict, culprit: culpritOf(r), health: r.health, pool: r.pool, data: r.data, runId: r.runId, faults: r.faults }))}</system-out>`;
    if (r.matched) return `${head}\n${out}\n  </testcase>`;
    // The culprit is what whoever reads a red CI job wants first.
    const culprit = namedCulprit(r);
    const msg = escape([...(r.mismatch ?? []), ...(culprit ? [`culprit: ${culprit}`] : [])].join('; '));
    return `${head}\n    <failure message="${msg}">${msg}</failure>\n${out}\n  </testcase>`;
  });
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuite name="faultline" tests="${results.length}" failures="${failures}" time="${total.toFixed(3)}">`,
    ...cases,
    '</testsuite>',
    '',
  ].join('\n');
}
