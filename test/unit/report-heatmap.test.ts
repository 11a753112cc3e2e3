import { heatmapCells } from '../../harness/report/html/heatmap';

describe('heatmapCells', () => {
  test('two knobs: one cell per pair of values, knob values in numeric order', () => {
    const h = heatmapCells({
      knobs: ['read_timeout', 'workers'],
      points: [
        { settings: { read_timeout: '10s', workers: 8 }, verdict: 'hung' },
        { settings: { read_timeout: '500ms', workers: 8 }, verdict: 'responsive' },
        { settings: { read_timeout: '2s', workers: 4 }, verdict: 'degraded' },
        { settings: { read_timeout: '500ms', workers: 4 }, verdict: 'responsive' },
      ],
    });
    expect(h.xKnob).toBe('read_timeout');
    expect(h.yKnob).toBe('workers');
    expect(h.xValues).toEqual(['500ms', '2s', '10s']);
    expect(h.yValues).toEqual(['4', '8']);
    expect(h.cells).toHaveLength(4);
    expect(h.cells.find((c) => c.x === '10s' && c.y === '8')?.verdict).toBe('hung');
  });

  test('repeated settings: the cell shows the most severe verdict and counts every run', () => {
    const h = heatmapCells({
      knobs: ['timeout'],
      points: [
        { settings: { timeout: 1 }, verdict: 'responsive' },
        { settings: { timeout: 1 }, verdict: 'hung' },
        { settings: { timeout: 1 }, verdict: 'responsive' },
        { settings: { timeout: 5 }, verdict: 'data-lost' },
        { settings: { timeout: 5 }, verdict: 'degraded' },
      ],
    });
    expect(h.yKnob).toBeUndefined();
    expect(h.yValues).toEqual(['']);
    const one = h.cells.find((c) => c.x === '1');
    expect(one).toMatchObject({ verdict: 'hung', count: 3, summary: 'hung ×1, responsive ×2' });
    expect(h.cells.find((c) => c.x === '5')?.verdict).toBe('data-lost');
  });

  test('values that are not all numbers or durations sort by name', () => {
    const h = heatmapCells({ knobs: ['mode'], points: ['b', 'a', '3s'].map((mode) => ({ settings: { mode }, verdict: 'hung' })) });
    expect(h.xValues).toEqual(['3s', 'a', 'b']);
  });

  test('a verdict it does not know ranks above the known ones', () => {
    const h = heatmapCells({ knobs: ['k'], points: [{ settings: { k: 'a' }, verdict: 'hung' }, { settings: { k: 'a' }, verdict: 'on-fire' }] });
    expect(h.cells[0].verdict).toBe('on-fire');
  });

  test('bad input names what is wrong', () => {
    expect(() => heatmapCells({ knobs: [], points: [] })).toThrow(/knobs must name 1 or 2/);
    expect(() => heatmapCells({ knobs: ['a', 'b', 'c'], points: [] })).toThrow(/knobs must name 1 or 2/);
    expect(() => heatmapCells({ knobs: ['a'], points: [{ settings: { b: 1 }, verdict: 'hung' }] })).toThrow(/point 0 has no setting for knob "a"/);
  });
});
