import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ScenarioResult } from '../../harness/scenario/types';
import { runCli } from '../helpers/cli';

/**
 * Proof of effect through the bin, as a user meets it: a scenario whose fault is ineffective on
 * purpose (a SYN blackhole on the profile backend's port, while nothing connects to it: only the
 * health probe runs) would be judged `responsive` and match; instead the run ends `error`, with a
 * one-line reason naming the fault, the terminal table says so, and the exit code is 1.
 */
const dir = mkdtempSync(join(tmpdir(), 'faultline-fault-effect-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const root = resolve(__dirname, '..', '..');
const file = join(dir, 'ineffective.ts');
writeFileSync(
  file,
  [
    `import { synBlackhole } from ${JSON.stringify(join(root, 'harness/faults/packet'))};`,
    `import { steadyState } from ${JSON.stringify(join(root, 'scenarios/common'))};`,
    `import type { Scenario } from ${JSON.stringify(join(root, 'harness/scenario/types'))};`,
    '',
    '// The fault is on a port nothing uses during the run: it takes hold of nothing.',
    'export const scenario: Scenario = {',
    "  name: 'ineffective-fault',",
    "  summary: 'a SYN blackhole toward a backend nobody calls',",
    "  shows: 'a fault that did nothing makes the run an error, not a verdict',",
    "  variants: { fixed: { expected: 'responsive' } },",
    '  async run(ctx) {',
    '    await steadyState(ctx, { durationMs: 1000, users: [] });',
    "    const active = await ctx.phase('inject', () => ctx.inject(synBlackhole('profile')));",
    "    await ctx.phase('observe', () => ctx.sleep(3000));",
    "    await ctx.phase('heal', () => active.heal());",
    '  },',
    '};',
    '',
  ].join('\n'),
);

test('a run whose fault matched no packet ends error, with the reason, in JSON and in the table', async () => {
  const json = await runCli(['run', file, '--variant', 'fixed', '--json']);
  expect(json.code).toBe(1);
  const [result] = (JSON.parse(json.stdout) as { results: ScenarioResult[] }).results;
  expect(result.verdict).toBe('error');
  expect(result.matched).toBe(false);
  expect(result.error).toMatch(/^fault syn-blackhole\(profile\) did not take hold \(no rule of the fault matched a packet while it was in place\)/);
  expect(result.error).not.toMatch(/\n/);
  expect(result.faults[0].effect).toEqual({ confirmed: false, evidence: [expect.stringMatching(/the web -> profile .* 0 packets, 0 bytes/), expect.stringMatching(/no rule/)] });

  const table = await runCli(['run', file, '--variant', 'fixed']);
  expect(table.code).toBe(1);
  expect(table.stdout).toMatch(/ineffective-fault\s+fixed\s+responsive\s+error\s+NO\s+NOT confirmed: syn-blackhole\(profile\)/);
  expect(table.stdout).toMatch(/fault syn-blackhole\(profile\) did not take hold/);
});
