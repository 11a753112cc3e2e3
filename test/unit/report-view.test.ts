import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Diagnosis } from '../../harness/diagnose/model';
import { renderText } from '../../harness/diagnose/render';
import { healthDeadlineMs, runView, slidingP99 } from '../../harness/report/html/view';
import { parseResultsDocument } from '../../harness/report/html/results-doc';
import type { ScenarioResult } from '../../harness/scenario/types';

const FIXTURE = join(__dirname, '..', 'fixtures', 'report', 'library.json');
const library = parseResultsDocument(readFileSync(FIXTURE, 'utf8'), 'fixture').results;
const lostFin = library.find((r) => r.scenario === 'lost-fin' && r.variant === 'incident') as ScenarioResult;

function result(requests: Array<{ kind?: string; start: number; end: number; outcome?: string }>): ScenarioResult {
  return {
    scenario: 's', variant: 'incident', expected: 'hung', verdict: 'hung', matched: true,
    health: { p50Ms: null, p99Ms: null, errors: 0, total: 0 }, pool: { busy: 0, size: 4 },
    phases: [{ name: 'steady', startMs: 1000, endMs: 9000 }], faults: [], runId: 'r', durationMs: 10_000, notes: [],
    timeline: { requests: requests.map((q) => ({ kind: 'health', outcome: 'ok', ...q })), pool: [], events: [] },
  };
}

describe('runView', () => {
  test('every recorded request becomes one point, at its start, with its latency', () => {
    const v = runView(lostFin);
    expect(v.requests).toHaveLength(lostFin.timeline!.requests.length);
    const q = lostFin.timeline!.requests[0];
    expect(v.requests[0]).toMatchObject({ t: q.start / 1000, latencyMs: Math.max(1, q.end - q.start), kind: q.kind, outcome: q.outcome });
  });

  test('fault windows, phases and the diagnosis moment come from the result', () => {
    const v = runView(lostFin);
    expect(v.faults).toEqual(lostFin.faults.map((f) => expect.objectContaining({ name: f.name, from: f.injectedAtMs / 1000, to: f.healedAtMs! / 1000, description: f.description })));
    // The recorded fixture predates proof of effect: a fault that cannot tell is shown as such.
    expect(v.faults[0].effect).toBe('not measured');
    expect(v.phases.map((p) => p.name)).toEqual(lostFin.phases.map((p) => p.name));
    const note = lostFin.timeline!.events.find((e) => e.kind === 'note' && e.name === 'diagnosis')!;
    expect(v.diagnosisAt).toBe(note.t / 1000);
    expect(v.span[0]).toBeLessThanOrEqual(lostFin.phases[0].startMs / 1000);
  });

  test('the diagnosis chain runs waiters → lock → holder → syscall → socket → service, with the text output', () => {
    const v = runView(lostFin);
    expect(v.chain?.nodes.map((n) => n.role)).toEqual(['waiters', 'lock', 'holder', 'syscall', 'socket', 'service']);
    expect(v.chain?.service).toBe('profile');
    expect(v.chain?.nodes.at(-1)?.title).toBe('profile');
    expect(v.diagnosisText).toBe(renderText(lostFin.diagnosis as Diagnosis));
    // The evidence lines the page lists are the ones the text output prints.
    for (const line of v.chain!.evidence) expect(v.diagnosisText).toContain(`  - ${line}`);
  });

  test('the recovery runs from the heal to the first health answer after it', () => {
    const healed = library.find((r) => r.recoveryMs !== undefined)!;
    const v = runView(healed);
    expect(v.recovery?.ms).toBe(healed.recoveryMs);
    expect(v.recovery!.to - v.recovery!.from).toBeCloseTo(healed.recoveryMs! / 1000, 3);
  });

  test('a result without a timeline (an older faultline) still renders, empty', () => {
    const { timeline: _dropped, ...old } = lostFin;
    const v = runView(old as ScenarioResult);
    expect(v.requests).toEqual([]);
    expect(v.p99).toEqual([]);
  });
});

describe('slidingP99', () => {
  test('is the slowest health request completed in the window, and forgets it after', () => {
    const requests = [];
    for (let t = 0; t < 10_000; t += 250) requests.push({ start: t, end: t + 10 });
    requests.push({ start: 4000, end: 6000, outcome: 'timeout' });
    requests.push({ kind: 'profile', start: 1000, end: 9000 }); // not health: ignored
    const p99 = slidingP99(result(requests), 3000);
    const at = (s: number) => p99.filter((p) => p.t <= s).at(-1)!.p99Ms;
    expect(at(5.9)).toBe(10);
    expect(at(6.1)).toBe(2000);
    expect(at(8.9)).toBe(2000);
    expect(at(9.1)).toBe(10);
  });

  test('no health requests, no line', () => {
    expect(slidingP99(result([{ kind: 'profile', start: 0, end: 5 }]))).toEqual([]);
  });
});

describe('healthDeadlineMs', () => {
  test('reads the deadline off the health requests that timed out', () => {
    expect(healthDeadlineMs(result([{ start: 0, end: 3004, outcome: 'timeout' }, { start: 100, end: 3120, outcome: 'timeout' }]))).toBe(3000);
  });

  test('falls back to the bundled probe deadline when none timed out', () => {
    expect(healthDeadlineMs(result([{ start: 0, end: 5 }]))).toBe(2000);
  });
});
