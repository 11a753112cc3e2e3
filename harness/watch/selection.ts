/**
 * Which local processes `--match` selects, kept across ticks. The diagnoser reads every process's
 * cmdline to select by pattern; on a busy host that scan is a third of a sample's CPU (measured:
 * 40 ms with the scan, 27 ms without, 200 matching processes among 430), for an answer that
 * rarely changes between two ticks. So only processes not seen before are read; those first seen
 * on the previous tick are read once more (a fork seen before its exec), and every FULL_RESCAN
 * ticks all are (a process that renamed itself, as PHP-FPM's workers do).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { parseCmdline } from '../diagnose/parse';

const FULL_RESCAN = 12;

export class MatchSelection {
  private matches = new Map<number, boolean>();
  private fresh = new Set<number>();
  private ticks = 0;

  constructor(
    private readonly pattern: RegExp,
    private readonly proc = '/proc',
  ) {}

  /** The matching PIDs now (the diagnoser still leaves itself and its ancestors out). */
  select(): number[] {
    const full = this.ticks++ % FULL_RESCAN === 0;
    const next = new Map<number, boolean>();
    const fresh = new Set<number>();
    for (const name of readdirSync(this.proc)) {
      if (!/^[0-9]+$/.test(name)) continue;
      const pid = Number(name);
      const known = this.matches.get(pid);
      if (known !== undefined && !full && !this.fresh.has(pid)) {
        next.set(pid, known);
        continue;
      }
      if (known === undefined) fresh.add(pid);
      let cmdline: string;
      try {
        cmdline = parseCmdline(readFileSync(`${this.proc}/${pid}/cmdline`, 'latin1'));
      } catch {
        continue; // gone since the listing
      }
      next.set(pid, this.pattern.test(cmdline));
    }
    this.matches = next;
    this.fresh = fresh;
    return [...next].filter(([, m]) => m).map(([pid]) => pid);
  }
}
