import { ruleCounters } from '../../harness/engine/iptables';
import { partition, randomLoss } from '../../harness/faults/packet';
import { toxic, versionDependent } from '../../harness/faults/proxy';
import { History } from '../../harness/probes/history';
import { faultEffectOf, renderSummary } from '../../harness/report/terminal';
import { effectLabel } from '../../harness/report/html/view';
import { buildResult, ineffectiveFault, type FaultRecord, type RunRecord } from '../../harness/scenario/result';
import { parseToxiproxyVersion } from '../../harness/topology/toxiproxy';

/** `iptables -w -t filter -S -v` as the toolbox's iptables 1.8.9 (legacy) prints it. */
const LISTING = [
  '-P INPUT ACCEPT -c 0 0',
  '-P FORWARD ACCEPT -c 0 0',
  '-P OUTPUT ACCEPT -c 0 0',
  '-A INPUT -s 192.168.112.3/32 -d 192.168.112.2/32 -p tcp -m tcp --dport 10001 -m comment --comment "faultline:fl-x:partition(web,storage-1):3.2" -c 7 420 -j DROP',
  '-A INPUT -s 192.168.112.2/32 -p tcp -m tcp --sport 10001 ! --tcp-flags RST RST -m comment --comment "faultline:fl-x:partition(web,storage-1,reject):4.1" -c 0 0 -j REJECT --reject-with tcp-reset',
  '-A INPUT -d 192.168.112.2/32 -p tcp -m tcp --dport 10000 -m comment --comment "faultline:fl-x:count(profile):5.fromClients" -c 12 1880',
  '-A INPUT -p tcp -m tcp --dport 22 -c 3 180 -j ACCEPT',
].join('\n');

describe('ruleCounters', () => {
  test("reads every commented rule's packet and byte counters, by comment", () => {
    const c = ruleCounters(LISTING);
    expect(c.get('faultline:fl-x:partition(web,storage-1):3.2')).toEqual({ packets: 7, bytes: 420 });
    expect(c.get('faultline:fl-x:partition(web,storage-1,reject):4.1')).toEqual({ packets: 0, bytes: 0 });
    expect(c.get('faultline:fl-x:count(profile):5.fromClients')).toEqual({ packets: 12, bytes: 1880 });
    // A rule without a comment is not one of ours.
    expect(c.size).toBe(3);
  });
});

function record(faults: FaultRecord[], error?: Error): RunRecord {
  const history = new History();
  history.events.push({ t: 0, kind: 'phase', name: 'observe' }, { t: 4000, kind: 'phase', name: 'heal' });
  for (let t = 0; t < 4000; t += 250) history.requests.push({ id: t, kind: 'health', start: t, end: t + 5, outcome: 'ok' });
  return { scenario: 'mine', variant: 'fixed', runId: 'fl-test', history, poolSize: 8, faults, notes: [], diagnoserConfigured: true, durationMs: 5000, error };
}
const fault = (confirmed: boolean | undefined): FaultRecord => ({
  name: 'syn-blackhole(profile)',
  layer: 'packet',
  description: 'SYNs dropped',
  injectedAtMs: 1000,
  healedAtMs: 4000,
  ...(confirmed === undefined
    ? {}
    : { effect: { confirmed, evidence: ["the web -> profile (Toxiproxy :10000) --syn -j DROP (Toxiproxy's netns): 0 packets, 0 bytes", 'no rule of the fault matched a packet while it was in place'] } }),
});

describe('a fault that did not take hold', () => {
  test('makes the verdict error with a one-line reason, never responsive', () => {
    const r = buildResult(record([fault(false)]), { spec: { expected: 'responsive' } });
    expect(r.verdict).toBe('error');
    expect(r.matched).toBe(false);
    expect(r.error).toBe('fault syn-blackhole(profile) did not take hold (no rule of the fault matched a packet while it was in place): the run proves nothing about it');
    expect(r.mismatch).toEqual([r.error]);
    expect(r.faults[0].effect).toEqual(fault(false).effect);
  });

  test('a confirmed fault, or one that cannot tell, leaves the verdict to the health probe', () => {
    expect(buildResult(record([fault(true)]), { spec: { expected: 'responsive' } })).toMatchObject({ verdict: 'responsive', matched: true });
    const untold = buildResult(record([fault(undefined)]), { spec: { expected: 'responsive' } });
    expect(untold).toMatchObject({ verdict: 'responsive', matched: true });
    expect(untold.faults[0]).not.toHaveProperty('effect');
  });

  test("the run's own error comes first", () => {
    const r = buildResult(record([fault(false)], new Error('scenario threw')), { spec: { expected: 'responsive' } });
    expect(r.error).toBe('scenario threw');
    expect(ineffectiveFault([fault(true), fault(false)])).toMatch(/^fault syn-blackhole\(profile\) did not take hold/);
    expect(ineffectiveFault([fault(true), fault(undefined)])).toBeUndefined();
  });

  test('the terminal table and the report say so', () => {
    const bad = buildResult(record([fault(false)]), { spec: { expected: 'responsive' } });
    const good = buildResult(record([fault(true)]), { spec: { expected: 'responsive' } });
    expect(faultEffectOf(bad)).toBe('NOT confirmed: syn-blackhole(profile)');
    expect(faultEffectOf(good)).toBe('confirmed');
    expect(faultEffectOf(buildResult(record([]), { spec: { expected: 'responsive' } }))).toBe('-');
    const table = renderSummary([bad, good]);
    expect(table).toMatch(/mine\s+fixed\s+responsive\s+error\s+NO\s+NOT confirmed: syn-blackhole\(profile\)/);
    expect(table).toMatch(/mine\s+fixed\s+responsive\s+responsive\s+yes\s+confirmed/);
    expect(effectLabel(bad.faults[0].effect)).toBe('NOT confirmed');
    expect(effectLabel(undefined)).toBe('not measured');
  });
});

describe('Toxiproxy versions', () => {
  test('/version is read in both of its forms; an unstamped build has none', () => {
    expect(parseToxiproxyVersion('{"version": "2.12.0"}\n')).toBe('2.12.0');
    expect(parseToxiproxyVersion('2.5.0')).toBe('2.5.0');
    expect(parseToxiproxyVersion('{"version": "v2.13.0"}')).toBe('2.13.0');
    expect(parseToxiproxyVersion('{"version": "git"}')).toBeUndefined();
  });

  test('a toxic whose meaning differs by version is refused before any engine work, saying why', () => {
    expect(versionDependent('bandwidth', { rate: 0 })).toMatch(/2\.12 stalls .* 2\.13 passes it unthrottled/);
    expect(versionDependent('bandwidth', { rate: 1 })).toBeUndefined();
    expect(() => toxic('api', 'bandwidth', { rate: 0 })).toThrow(/^toxic bandwidth on api: rate must be >= 1 KB\/s: rate=0 means different things by version/);
  });
});

describe('packet fault options', () => {
  test('partition behaviours are named in the fault, and a bad one is one line', () => {
    expect(partition('storage-1').name).toBe('partition(web,storage-1)');
    expect(partition('storage-1', { behavior: 'reject' }).name).toBe('partition(web,storage-1,reject)');
    expect(partition('storage-1', { behavior: 'drop-new', hop: 'upstream' }).name).toBe('partition(toxiproxy,storage-1,drop-new)');
    expect(partition('storage-1', { behavior: 'reject' }).description).toMatch(/TCP reset/);
    expect(() => partition('storage-1', { behavior: 'nope' as never })).toThrow(/^partition\(storage-1\): behavior must be one of drop, reject, drop-new, got "nope"$/);
    expect(randomLoss('storage-1', 0.2, { hop: 'upstream' }).description).toMatch(/between Toxiproxy and storage-1 dropped on arrival/);
  });
});
