/**
 * The task clock's lag behind /proc/uptime (cpu-clock.ts): probe parsing, the correction of a
 * sleeper's age, the cap by its lifetime, and the container dump's clock sections.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { LocalCpuClock, parseLeftOutTicks, parseProbe, PROBE_CACHE, probeScript } from '../../../harness/diagnose/cpu-clock';
import { parseDump } from '../../../harness/diagnose/container';
import { notRunFor } from '../../../harness/diagnose/read-process';
import { parseStat } from '../../../harness/diagnose/parse';

// Recorded on this platform's 2-core VM (uptime 67751 s), `taskset -c 1 cat /proc/uptime /proc/self/stat /proc/self/sched`.
const PROBE_CPU1 = [
  '67751.03 117588.90',
  '2811 (cat) R 2745 2745 1969 0 -1 4194304 203 0 0 0 0 0 0 0 20 0 1 0 6775103 3133440 231 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0',
  'cat (2811, #threads: 1)',
  '-------------------------------------------------------------------',
  'se.exec_start                                :      67687794.740951',
  'se.vruntime                                  :             1.234567',
].join('\n');

describe('cpu clock', () => {
  test('a probe that ran on the CPU asked for gives uptime minus its exec_start', () => {
    expect(parseProbe(PROBE_CPU1, 1)).toBeCloseTo(67751030 - 67687794.740951, 3);
  });

  test('a probe that ran elsewhere, or text that is not a probe, gives undefined', () => {
    expect(parseProbe(PROBE_CPU1, 0)).toBeUndefined();
    expect(parseProbe('', 1)).toBeUndefined();
    expect(parseProbe('67751.03 1\n2811 (cat) R 1', 1)).toBeUndefined();
    expect(parseProbe(PROBE_CPU1.replace(/se\.exec_start.*\n/, ''), 1)).toBeUndefined();
  });

  test('stat field 39 is the CPU a task last ran on', () => {
    expect(parseStat(PROBE_CPU1.split('\n')[1] as string)?.processor).toBe(1);
  });

  test('left-out time per CPU is irq + softirq + steal', () => {
    const stat = 'cpu  1 2 3 4 5 6 7 8 0 0\ncpu0 10 0 20 1000 5 100 50 3 0 0\ncpu1 10 0 20 1000 5 7 1 0 0 0\nintr 123';
    expect([...parseLeftOutTicks(stat)]).toEqual([
      [0, 153],
      [1, 8],
    ]);
  });

  test("a sleeper's age is uptime minus exec_start less the lag of its CPU, capped by its lifetime", () => {
    const stat = { pid: 1, comm: 'x', state: 'S', startTimeTicks: 6_000_000 }; // started at 60000 s
    // 70000 s uptime, last ran at 69900 s on a clock that lags 60 s: asleep 40 s, not 100 s.
    expect(notRunFor(70_000, 69_900_000, stat, 60_000)).toBe(40_000);
    // Without the lag, the reading stands, but never beyond the 10000 s it has existed.
    expect(notRunFor(70_000, 69_900_000, stat, undefined)).toBe(100_000);
    expect(notRunFor(70_000, 1_000, stat, undefined)).toBe(10_000_000);
    // A lag measured a tick after the task ran cannot make an age negative.
    expect(notRunFor(70_000, 69_950_000, stat, 60_000)).toBe(0);
  });

  test('the container dump keeps each CPU probe; a sidecar without taskset leaves none', () => {
    const stdout = ['@@arch x86_64', '@@self 5', '@@pids 1', '@@clock 1', ...PROBE_CPU1.split('\n').filter((l) => !l.startsWith('se.v')), '@@clock 0', '@@end'].join('\n');
    const dump = parseDump(stdout);
    expect(parseProbe(dump.clock.get(1) as string, 1)).toBeCloseTo(63235.259, 2);
    expect(parseProbe(dump.clock.get(0) as string, 0)).toBeUndefined();
    expect(parseDump('@@pids 1\n@@clock-missing\n@@end').clock.size).toBe(0);
  });

  test('this machine: every CPU has a lag, measured once and then kept while its irq and steal time stand still', () => {
    const clock = new LocalCpuClock();
    clock.newSnapshot();
    const first = clock.lagMs(0);
    expect(first).toBeGreaterThanOrEqual(0);
    clock.newSnapshot();
    const again = clock.lagMs(0);
    // Either the cached value, or (had irq time moved) a fresh one within a few scheduler ticks.
    expect(Math.abs((again as number) - (first as number))).toBeLessThan(50);
    expect(clock.lagMs(-1)).toBeUndefined();
    expect(clock.lagMs(100_000)).toBeUndefined();
  });

  test('the sidecar script keeps each CPU probe between samples and serves it again; without the cache it leaves nothing behind', () => {
    const files = () => fs.readdirSync('/tmp').filter((f) => `/tmp/${f}`.startsWith(PROBE_CACHE));
    const before = new Set(files());
    const run = (cache: boolean) => parseDump(`@@pids 1\n${execFileSync('sh', ['-c', `CPUS=0; ${probeScript(cache)}`], { encoding: 'utf8' })}\n@@end`).clock.get(0) as string;
    try {
      expect(parseProbe(run(false), 0)).toBeGreaterThanOrEqual(0);
      expect(files().filter((f) => !before.has(f))).toEqual([]);
      const first = parseProbe(run(true), 0);
      expect(first).toBeGreaterThanOrEqual(0);
      expect(fs.existsSync(`${PROBE_CACHE}0`)).toBe(true);
      // Served from the cache, or probed anew had irq time moved: the same lag to a few ticks.
      expect(Math.abs((parseProbe(run(true), 0) as number) - (first as number))).toBeLessThan(50);
    } finally {
      for (const f of files()) if (!before.has(f)) fs.rmSync(`/tmp/${f}`, { force: true });
    }
  });
});
