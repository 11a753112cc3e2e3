import { main } from '../../harness/cli/main';
import { resolveScenarios, resolveVariants } from '../../harness/cli/run';
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
  test('unknown command lists the valid ones', () => expectUsage(['frobnicate'], /unknown command "frobnicate".*run, list/));
  test('unknown scenario names the valid ones', () => expectUsage(['run', 'nope'], /unknown scenario "nope".*lost-fin/));
  test('bad --variant says what is allowed', () => expectUsage(['run', 'lost-fin', '--variant', 'maybe'], /--variant must be incident, fixed or both/));
  test('unknown flag is named', () => expectUsage(['run', '--frobnicate'], /unknown flag --frobnicate/));
  test('flag without its value is named', () => expectUsage(['run', '--variant'], /--variant needs a value/));
  test('images takes only build', () => expectUsage(['images', 'destroy'], /unknown action "destroy"/));
  test('clean takes no argument', () => expectUsage(['clean', 'everything'], /unexpected argument "everything"/));
  test('a scenario file that does not exist', () => expectUsage(['run', 'missing-file.ts'], /missing-file\.ts does not exist/));
});

describe('faultline CLI help and listing', () => {
  test('--help prints the commands and exits 0', async () => {
    const io = captureIO();
    expect(await main(['--help'], io)).toBe(0);
    for (const cmd of ['run', 'list', 'diagnose', 'images', 'doctor', 'clean']) expect(io.out()).toContain(`  ${cmd}`);
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
    expect(lostFin.variants.incident).toEqual({ expected: 'hung', culprit: { service: 'profile', kind: 'half-open-read' } });
    expect(lostFin.variants.fixed).toEqual({ expected: 'responsive' });
  });

  test('no scenario named means all; variants default to both', () => {
    expect(resolveScenarios([]).map((s) => s.name)).toContain('lost-fin');
    expect(resolveVariants(undefined)).toEqual(['incident', 'fixed']);
    expect(resolveVariants('fixed')).toEqual(['fixed']);
  });
});

describe('without a Docker engine', () => {
  test('run fails with FAULTLINE_DOCKER_UNAVAILABLE in one line saying how to start one', async () => {
    const io = captureIO({ ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' });
    const code = await main(['run', 'lost-fin', '--variant', 'fixed'], io);
    expect(code).toBe(1);
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
