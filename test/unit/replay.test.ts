/**
 * A failed result carries what is needed to replay it: the terminal report prints a line to paste
 * (`faultline run S --variant V --set k=v ...`), and seeded upload bodies make the replay send the
 * same bytes.
 */
import { renderSummary, replayCommand } from '../../harness/report/terminal';
import { parseSet } from '../../harness/scenario/knobs';
import { REPLAY_NOTE } from '../../harness/scenario/types';
import { runUploads, uploadBody, stalledWriteScenario } from '../../scenarios/uploads';
import { resultWith } from '../helpers/results';

describe('the replay line', () => {
  const failed = resultWith({
    scenario: 'stalled-write',
    variant: 'incident',
    expected: 'hung',
    verdict: 'responsive',
    matched: false,
    mismatch: ['verdict responsive, expected hung'],
    settings: { workers: 16 },
    notes: [{ name: REPLAY_NOTE, detail: '--set upload_seed=42' }, { name: 'recovered', detail: 'after 3 s' }],
  });

  test('names the scenario, the variant, the knobs given and what the run noted', () => {
    expect(replayCommand(failed)).toBe('faultline run stalled-write --variant incident --set workers=16 --set upload_seed=42');
    expect(replayCommand(failed, 'my dir/scenario.ts')).toBe("faultline run 'my dir/scenario.ts' --variant incident --set workers=16 --set upload_seed=42");
  });

  test('the terminal report prints it under each failed result, and only there', () => {
    const ok = resultWith({ scenario: 'slow-node' });
    const text = renderSummary([ok, failed], { 'stalled-write': './mine.ts' });
    expect(text).toContain('    replay: faultline run ./mine.ts --variant incident --set workers=16 --set upload_seed=42');
    expect(text.match(/replay:/g)).toHaveLength(1);
    expect(renderSummary([ok])).not.toContain('replay:');
  });

  test("every flag of the line is one the scenario accepts (the seed's knob is declared)", () => {
    for (const flag of ['workers=16', 'upload_seed=42']) expect(() => parseSet('stalled-write', stalledWriteScenario.knobs ?? [], flag)).not.toThrow();
  });
});

describe('seeded upload bodies', () => {
  test('the same seed and index give the same bytes; another seed or index does not', () => {
    expect(uploadBody(1001, 7, 3).equals(uploadBody(1001, 7, 3))).toBe(true);
    expect(uploadBody(1001, 7, 3).equals(uploadBody(1001, 8, 3))).toBe(false);
    expect(uploadBody(1001, 7, 3).equals(uploadBody(1001, 7, 4))).toBe(false);
    expect(uploadBody(16, undefined).equals(uploadBody(16, undefined))).toBe(false);
  });

  test('a run without a seed picks one and notes it for the replay; with one, the bodies repeat', () => {
    const notes: Array<[string, string | undefined]> = [];
    const unseeded = runUploads({ knob: () => undefined, note: (name, detail) => notes.push([name, detail]) });
    const first = unseeded(4096).meta!.sha256;
    expect(notes).toHaveLength(1);
    const [name, detail] = notes[0];
    expect(name).toBe(REPLAY_NOTE);
    const seed = Number(/^--set upload_seed=(\d+)$/.exec(detail ?? '')![1]);
    const replayed = runUploads({ knob: () => seed, note: () => expect('no note').toBe('when seeded') });
    expect(replayed(4096).meta!.sha256).toBe(first);
  });
});
