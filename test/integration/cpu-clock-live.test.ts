/**
 * The local CPU clock (harness/diagnose/cpu-clock.ts) on this machine's kernel: a lag kept while
 * the CPU's interrupt time stands still, or probed again once it moved, agrees with a fresh probe.
 * Live and timing-bound (a probe preempted between its reads is off by its time away), so it runs
 * in the integration project, one file at a time, not beside the unit workers.
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { LocalCpuClock, parseLeftOutTicks } from '../../harness/diagnose/cpu-clock';

/** Writes 1 MiB chunks to a loopback TCP server of its own for 200 ms, then exits (~8 jiffies of softirq here). */
const LOOPBACK_PUMP = `
const net = require('net');
const srv = net.createServer((s) => s.resume()).listen(0, '127.0.0.1', () => {
  const c = net.connect(srv.address().port, '127.0.0.1');
  const buf = Buffer.alloc(1 << 20);
  const until = Date.now() + 200;
  const pump = () => {
    while (Date.now() < until) if (!c.write(buf)) return void c.once('drain', pump);
    c.end();
    srv.close();
  };
  c.on('connect', pump);
});
`;

describe('cpu clock, live', () => {
  test('this machine: a kept lag matches a fresh probe while irq time stands still; once it moved, the CPU is probed again', () => {
    const left = () => parseLeftOutTicks(fs.readFileSync('/proc/stat', 'utf8'));
    const clock = new LocalCpuClock();
    clock.newSnapshot();
    const cpus = [...left().keys()];
    const kept = new Map(cpus.map((c) => [c, clock.lagMs(c) as number] as const));
    for (const c of cpus) expect(kept.get(c)).toBeGreaterThanOrEqual(0);
    // Softirq time: TCP over loopback (each segment is received in NET_RX softirq), 200 ms of it.
    const before = left();
    execFileSync(process.execPath, ['-e', LOOPBACK_PUMP], { timeout: 10_000 });
    const moved = cpus.filter((c) => (left().get(c) as number) - (before.get(c) as number) >= 2);
    if (moved.length === 0) throw new Error('no CPU took 20 ms of softirq time from 200 ms of loopback TCP: the check below could not fail');
    clock.newSnapshot();
    for (const c of cpus) {
      const now = clock.lagMs(c) as number;
      // The median of three probes: one preempted between its reads (a loaded CI box) is off by its time away.
      const fresh = [0, 1, 2].map(() => clock.probeNow(c) as number).sort((a, b) => a - b)[1] as number;
      // Kept or probed again, it agrees with a fresh probe to a few scheduler ticks.
      expect(Math.abs(now - fresh)).toBeLessThan(30);
    }
  });
});
