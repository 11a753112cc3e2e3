import { COMMANDS } from '../../harness/cli/commands';
import { main } from '../../harness/cli/main';
import { resolveVariants } from '../../harness/cli/run';
import { resolveScenarios } from '../../harness/cli/scenario-file';
import { captureIO } from '../helpers/io';

/** Bad input: one line naming the field or flag, exit code 2, no stack trace. */
async function expectUsage(args: string[], mention: RegExp) {
  const io = captureIO();
  const code = await main(args, io);
  expect(code).toBe(2);
  const lines = io.err().trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(mention);
  expect(io.err()).not.toMatch(/\n\s+at /);
  expect(io.out()).toBe('');
}

describe('faultline CLI input errors', () => {
  test('unknown command lists the valid ones', () => expectUsage(['frobnicate'], new RegExp(`unknown command "frobnicate": valid commands are ${COMMANDS.map((c) => c.name).join(', ')}$`)));
  test('unknown scenario names the valid ones', () => expectUsage(['run', 'nope'], /unknown scenario "nope".*lost-fin/));
  test('bad --variant says what is allowed', () => expectUsage(['run', 'lost-fin', '--variant', 'maybe'], /--variant must be incident, fixed or both/));
  test('unknown flag is named', () => expectUsage(['run', '--frobnicate'], /unknown flag --frobnicate/));
  test('flag without its value is named', () => expectUsage(['run', '--variant'], /--variant needs a value/));
  test('images takes only build', () => expectUsage(['images', 'destroy'], /unknown action "destroy"/));
  test('clean takes no argument', () => expectUsage(['clean', 'everything'], /unexpected argument "everything"/));
  test('a scenario file that does not exist', () => expectUsage(['run', 'missing-file.ts'], /missing-file\.ts does not exist/));
  test('--parallel above its cap', () => expectUsage(['run', '--parallel', '99999'], /--parallel must be an integer from 1 to 16, got "99999"/));
  test('--parallel that is not a number', () => expectUsage(['run', '--parallel', '2x'], /--parallel must be an integer from 1 to 16/));
  test('--junit into a directory', () => expectUsage(['run', 'lost-fin', '--junit', '/tmp'], /--junit \/tmp is a directory/));
  test('--junit into a missing folder', () => expectUsage(['run', 'lost-fin', '--junit', '/nonexistent-dir/r.xml'], /--junit .*the folder \/nonexistent-dir does not exist/));
  test('a duplicate bundled name runs once, not an error', () => {
    expect(resolveScenarios(['lost-fin', 'lost-fin'])).toHaveLength(1);
  });
  test('DOCKER_HOST that is not an address, for every engine command', async () => {
    for (const args of [['run', 'lost-fin'], ['images'], ['clean'], ['doctor']]) {
      const io = captureIO({ ...process.env, DOCKER_HOST: 'garbage' });
      expect({ args, code: await main(args, io) }).toEqual({ args, code: 2 });
      expect(io.err().trim().split('\n')).toHaveLength(1);
      expect(io.err()).toMatch(/DOCKER_HOST=garbage .*unix:\/\/\/.*tcp:\/\/host:port/);
    }
  });
  test('list and doctor take no arguments', async () => {
    await expectUsage(['list', 'extra'], /faultline list: unexpected argument "extra"/);
    await expectUsage(['doctor', 'extra'], /faultline doctor: unexpected argument "extra"/);
  });
});

describe('faultline help documents the exit codes', () => {
  test('--help names 0, 1, 2, 3 and 130', async () => {
    const io = captureIO();
    await main(['--help'], io);
    for (const code of ['0 ', '1 ', '2 ', '3 ', '130 ']) expect(io.out()).toMatch(new RegExp(`\\n  ${code}`));
  });
});

describe('faultline CLI help and listing', () => {
  test('--help prints the commands and exits 0', async () => {
    const io = captureIO();
    expect(await main(['--help'], io)).toBe(0);
    for (const { name, synopsis, summary } of COMMANDS) {
      expect(io.out()).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
      expect(io.out()).toContain(synopsis);
      expect(io.out()).toContain(summary[0]);
    }
  });

  test('run --help documents the flags', async () => {
    const io = captureIO();
    expect(await main(['run', '--help'], io)).toBe(0);
    expect(io.out()).toMatch(/--variant V/);
    expect(io.out()).toMatch(/--json/);
    expect(io.out()).toMatch(/--junit FILE/);
  });

  test('list --json gives every bundled scenario with both variants', async () => {
    const io = captureIO();
    expect(await main(['list', '--json'], io)).toBe(0);
    const { scenarios } = JSON.parse(io.out());
    const lostFin = scenarios.find((s: { name: string }) => s.name === 'lost-fin');
    expect(lostFin.variants.incident).toEqual({ expected: 'hung', culprit: { service: 'profile', kind: 'silent-peer', chain: { lock: 'FLOCK', minWaiters: 2, inferred: false } } });
    expect(lostFin.variants.fixed).toEqual({ expected: 'responsive' });
  });

  test('no scenario named means all; variants default to both', () => {
    expect(resolveScenarios([]).map((s) => (s.scenario as { name: string }).name)).toContain('lost-fin');
    expect(resolveVariants(undefined)).toEqual(['incident', 'fixed']);
    expect(resolveVariants('fixed')).toEqual(['fixed']);
  });
});

describe('without a Docker engine', () => {
  test('run fails with FAULTLINE_DOCKER_UNAVAILABLE (exit 3, environment) in one line saying how to start one', async () => {
    const io = captureIO({ ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    const code = await main(['run', 'lost-fin', '--variant', 'fixed'], io);
    expect(code).toBe(3);
    const lines = io.err().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/FAULTLINE_DOCKER_UNAVAILABLE/);
    expect(lines[0]).toMatch(/dockerd|docker\.io/);
  });

  test('run against a tcp engine that does not answer: exit 2, one line naming DOCKER_HOST and what to check', async () => {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    const io = captureIO({ ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:1' });
    expect(await main(['run', 'lost-fin'], io)).toBe(2);
    const lines = io.err().trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/DOCKER_HOST=tcp:\/\/127\.0\.0\.1:1 does not answer as a Docker engine \(ECONNREFUSED\): check that the engine runs/);
  });

  test('doctor reports the missing engine and exits 1', async () => {
    const io = captureIO({ ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    expect(await main(['doctor'], io)).toBe(1);
    expect(io.out()).toMatch(/FAIL\s+engine: no Docker engine answers/);
  });
});
