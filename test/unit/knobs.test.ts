import { applyTopologyKnobs, checkKnobSpecs, explicitSettings, formatKnobList, knobQuery, parseSet, parseVary, readKnob, resolveSettings, type KnobSpec } from '../../harness/scenario/knobs';
import { Topology } from '../../harness/topology/topology';
import { lostFinScenario } from '../../scenarios/lost-fin';
import { usage } from '../helpers/usage';

const KNOBS: KnobSpec[] = [
  { name: 'read_timeout_ms', type: 'int', unit: 'ms', min: 0, max: 600_000, zero: 'no limit', reaches: { kind: 'query', name: 'read_timeout_ms' }, summary: 'read timeout' },
  { name: 'lock_across_io', type: 'bool', reaches: { kind: 'query', name: 'lock_across_io' }, summary: 'lock' },
  { name: 'workers', type: 'int', unit: 'workers', min: 2, max: 64, default: 8, reaches: { kind: 'pool-size' }, summary: 'pool' },
  { name: 'keepalive_time_s', type: 'int', unit: 's', min: 1, max: 7200, reaches: { kind: 'web-sysctl', name: 'net.ipv4.tcp_keepalive_time' }, summary: 'ka' },
  { name: 'mode', type: 'enum', values: ['a', 'b'], reaches: { kind: 'web-env', name: 'FL_MODE' }, summary: 'mode' },
];


describe('knob values', () => {
  test('parses ints, bools and enums', () => {
    expect(parseSet('s', KNOBS, 'read_timeout_ms=500')).toEqual(['read_timeout_ms', 500]);
    expect(parseSet('s', KNOBS, 'lock_across_io=false')).toEqual(['lock_across_io', false]);
    expect(parseSet('s', KNOBS, 'mode=b')).toEqual(['mode', 'b']);
    expect(parseVary('s', KNOBS, 'read_timeout_ms=250, 500,1000')).toEqual(['read_timeout_ms', [250, 500, 1000]]);
  });

  test.each([
    ['read_timeout_ms=abc', /read_timeout_ms=abc: read_timeout_ms must be an integer in ms from 0 to 600000 \(0 = no limit\)/],
    ['read_timeout_ms=2.5', /must be an integer/],
    ['read_timeout_ms=700000', /from 0 to 600000/],
    ['workers=1', /workers must be an integer in workers from 2 to 64/],
    ['lock_across_io=maybe', /lock_across_io must be true or false/],
    ['mode=c', /mode must be one of a, b/],
    ['nope=1', /s has no knob "nope"; its knobs are read_timeout_ms, lock_across_io/],
    ['read_timeout_ms', /expected name=value/],
    ['read_timeout_ms=', /give a value/],
  ])('--set %s is refused in one line naming the knob', (text, message) => {
    expect(usage(() => parseSet('s', KNOBS, text))).toMatch(message);
  });

  test('an empty --vary list and a duplicate value are refused', () => {
    expect(usage(() => parseVary('s', KNOBS, 'read_timeout_ms='))).toMatch(/list of values is empty/);
    expect(usage(() => parseVary('s', KNOBS, 'read_timeout_ms=, ,'))).toMatch(/list of values is empty/);
    expect(usage(() => parseVary('s', KNOBS, 'read_timeout_ms=5,5'))).toMatch(/5 is listed twice/);
  });
});

describe('settings', () => {
  test('resolve to every declared knob, defaults filled in, given values checked', () => {
    const s = resolveSettings('s', KNOBS, { read_timeout_ms: 400 });
    expect(s).toEqual({ read_timeout_ms: 400, lock_across_io: undefined, workers: 8, keepalive_time_s: undefined, mode: undefined });
    expect(Object.isFrozen(s)).toBe(true);
    expect(explicitSettings(KNOBS, s)).toEqual({ read_timeout_ms: 400 });
    expect(usage(() => resolveSettings('s', KNOBS, { workers: 100 }))).toMatch(/workers must be/);
  });

  test('query knobs become the query string; topology knobs reach the builder', () => {
    const s = resolveSettings('s', KNOBS, { read_timeout_ms: 400, lock_across_io: true, workers: 4, keepalive_time_s: 5, mode: 'b' });
    expect(knobQuery(KNOBS, s)).toBe('read_timeout_ms=400&lock_across_io=1');
    const t = applyTopologyKnobs(new Topology(), KNOBS, s);
    const options = (t as unknown as { options: { maxWorkers: number; webEnv: Record<string, string>; webSysctls: Record<string, string> } }).options;
    expect(options.maxWorkers).toBe(4);
    expect(options.webEnv).toEqual({ FL_MODE: 'b' });
    expect(options.webSysctls).toEqual({ 'net.ipv4.tcp_keepalive_time': '5' });
  });

  test('reading an undeclared knob is the scenario author\'s error', () => {
    expect(readKnob('s', resolveSettings('s', KNOBS), 'workers')).toBe(8);
    expect(() => readKnob('s', resolveSettings('s', KNOBS), 'nope')).toThrow(/reads knob "nope", which it does not declare/);
  });

  test('declarations are checked: names, duplicates, defaults in range', () => {
    expect(() => checkKnobSpecs('s', [...KNOBS, KNOBS[0]])).toThrow(/declared twice/);
    expect(() => checkKnobSpecs('s', [{ ...KNOBS[2], default: 1 } as KnobSpec])).toThrow(/default of workers=1/);
    expect(() => checkKnobSpecs('s', [{ ...KNOBS[1], name: 'Bad-Name' }])).toThrow(/lower_snake_case/);
  });

  test('withWebSysctls refuses sysctls that are not per network namespace', () => {
    expect(() => new Topology().withWebSysctls({ 'kernel.pid_max': '10' })).toThrow(/not a per-network-namespace sysctl/);
  });
});

describe('the bundled lost-fin scenario', () => {
  test('declares the knobs the issue asks for, valid, one a line, the name first', () => {
    checkKnobSpecs('lost-fin', lostFinScenario.knobs!);
    const names = lostFinScenario.knobs!.map((k) => k.name);
    expect(names).toEqual(expect.arrayContaining(['read_timeout_ms', 'connect_timeout_ms', 'deadline_ms', 'lock_across_io', 'workers', 'reload_every_ms', 'keepalive', 'keepalive_time_s']));
    const lines = formatKnobList(lostFinScenario.knobs!).split('\n');
    expect(lines).toHaveLength(names.length);
    expect(lines.map((l) => l.split(/\s+/)[0])).toEqual(names);
    expect(lines.find((l) => l.startsWith('workers'))).toMatch(/^workers\s+int\s+workers\s+8\s+2\.\.64/);
  });
});
