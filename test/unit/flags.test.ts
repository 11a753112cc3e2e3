import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkEngineEnv, checkWritableFile, intFlag } from '../../harness/cli/args';
import { MAX_MATCH_LENGTH, parseDiagnoseArgs } from '../../harness/cli/diagnose';
import { resolveRunConfig } from '../../harness/cli/run';
import { dockerOptions } from '../../harness/engine/docker';
import { EXIT, exitCodeFor, FaultlineError, UsageError } from '../../harness/errors';
import { usage } from '../helpers/usage';


describe('intFlag', () => {
  test('accepts integers within the range, and the fallback when absent', () => {
    expect(intFlag('run', '--parallel', undefined, 2, 1, 16)).toBe(2);
    expect(intFlag('run', '--parallel', '16', 2, 1, 16)).toBe(16);
    expect(intFlag('run', '--parallel', '1', 2, 1, 16)).toBe(1);
  });
  test.each(['0', '17', '99999', '2.5', 'two', '', '1e3', '0x10', '-1', '9'.repeat(30)])('refuses %p naming the flag and the range', (v) => {
    expect(usage(() => intFlag('run', '--parallel', v, 2, 1, 16))).toMatch(/^faultline run: --parallel must be an integer from 1 to 16, got "/);
  });
});

describe('checkWritableFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'faultline-flags-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('a new file in a writable folder passes and is not left behind', () => {
    const path = join(dir, 'report.xml');
    checkWritableFile('run', '--junit', path);
    expect(existsSync(path)).toBe(false);
  });
  test('an existing file passes and keeps its content', () => {
    const path = join(dir, 'old.xml');
    writeFileSync(path, 'keep me');
    checkWritableFile('run', '--junit', path);
    expect(readFileSync(path, 'utf8')).toBe('keep me');
  });
  test('a directory, a missing folder, /proc and an empty path are refused', () => {
    expect(usage(() => checkWritableFile('run', '--junit', dir))).toMatch(/--junit .* is a directory/);
    expect(usage(() => checkWritableFile('run', '--junit', join(dir, 'a', 'b.xml')))).toMatch(/the folder .*\/a does not exist/);
    expect(usage(() => checkWritableFile('run', '--junit', '/proc/x.xml'))).toMatch(/--junit \/proc\/x\.xml cannot be written \(E[A-Z]+\)/);
    expect(usage(() => checkWritableFile('run', '--junit', ''))).toMatch(/--junit needs a file path/);
  });
});

describe('DOCKER_HOST', () => {
  test.each([
    ['', { socketPath: '/var/run/docker.sock' }],
    ['unix:///run/docker.sock', { socketPath: '/run/docker.sock' }],
    ['tcp://127.0.0.1:2375', { host: '127.0.0.1', port: 2375, protocol: 'http' }],
    ['tcp://localhost', { host: 'localhost', port: 2375, protocol: 'http' }],
  ])('accepts %p', (host, options) => expect(dockerOptions({ DOCKER_HOST: host })).toEqual(options));

  test.each(['garbage', 'unix://', 'unix://relative.sock', 'tcp://', 'tcp://:2375', 'tcp://127.0.0.1:99999', 'tcp://127.0.0.1:0', 'tcp://h:1/path', 'tcp://u:p@h:1', 'http://127.0.0.1:2375', 'ssh://me@host', 'npipe:////./pipe/docker_engine'])(
    'refuses %p naming DOCKER_HOST and the accepted forms',
    (host) => {
      expect(usage(() => dockerOptions({ DOCKER_HOST: host }))).toMatch(/^DOCKER_HOST=.* use unix:\/\/\/path\/to\/docker\.sock or tcp:\/\/host:port/);
    },
  );

  test('checkEngineEnv also checks the image overrides', () => {
    expect(() => checkEngineEnv({})).not.toThrow();
    expect(usage(() => checkEngineEnv({ FAULTLINE_BASE_IMAGE: 'Bad Ref' }))).toMatch(/^FAULTLINE_BASE_IMAGE=Bad Ref is not an image reference/);
  });
});

describe('diagnose flags', () => {
  test('valid flags resolve into one complete config', () => {
    expect(parseDiagnoseArgs(['--pid', '12,12,13', '--samples', '3', '--interval', '0', '--json'])).toEqual({
      pids: [12, 13],
      samples: 3,
      intervalMs: 0,
      stuckAfterMs: 5000,
      json: true,
      help: false,
    });
    expect(parseDiagnoseArgs(['--match', 'a'.repeat(MAX_MATCH_LENGTH)]).match?.source).toHaveLength(MAX_MATCH_LENGTH);
    expect(parseDiagnoseArgs(['--pid', '1', '--stuck-after', '800ms']).stuckAfterMs).toBe(800);
    expect(parseDiagnoseArgs(['--pid', '1', '--stuck-after=2.5s']).stuckAfterMs).toBe(2500);
    expect(parseDiagnoseArgs(['--pid', '1', '--stuck-after', '1500']).stuckAfterMs).toBe(1500);
  });
  test.each([
    [['--match', 'a'.repeat(MAX_MATCH_LENGTH + 1)], /--match is 1001 characters long: give a pattern of at most 1000/],
    [['--match', '[z-a]'], /--match "\[z-a\]" is not a valid regular expression/],
    [['--pid', '4194305'], /--pid "4194305" must be process ids from 1 to 4194304/],
    [['--pid', '1,,2'], /--pid "1,,2"/],
    [['--pid', Array.from({ length: 1025 }, (_, i) => i + 1).join(',')], /--pid names 1025 processes: give at most 1024/],
    [['--pid', '1', '--samples', '101'], /--samples "101" must be a whole number from 1 to 100/],
    [['--pid', '1', '--interval', '60001'], /--interval "60001" must be milliseconds from 0 to 60000/],
    [['--container', 'x'.repeat(129)], /--container "x{60}…" is not a container name/],
    [['--pid', '1', '--stuck-after', 'soon'], /--stuck-after "soon" must be a duration like "5s" or "800ms"/],
    [['--pid', '1', '--stuck-after', '2h'], /--stuck-after "2h" must be a duration/],
    [['--pid', '1', '--stuck-after', '90m'], /--stuck-after "90m" must be at most 1h/],
    [['--frobnicate'], /unknown argument "--frobnicate"/],
  ])('refuses %p', (args, message) => expect(usage(() => parseDiagnoseArgs(args as string[]))).toMatch(message));
});

describe('run config', () => {
  test('resolves every option once, before any engine work', () => {
    const config = resolveRunConfig(['lost-fin', '--variant', 'fixed', '--parallel', '3', '--json'], { DOCKER_HOST: 'unix:///nonexistent.sock' });
    expect(config).toMatchObject({ variants: ['fixed'], parallel: 3, json: true, junit: undefined });
    expect(config?.scenarios.map((s) => s.name)).toEqual(['lost-fin']);
    expect(resolveRunConfig(['--help'], {})).toBeUndefined();
  });
  test('the first problem wins, in one line', () => {
    expect(usage(() => resolveRunConfig(['--parallel', '17'], { DOCKER_HOST: 'garbage' }))).toMatch(/--parallel/);
    expect(usage(() => resolveRunConfig(['lost-fin'], { DOCKER_HOST: 'garbage' }))).toMatch(/^DOCKER_HOST=garbage/);
  });
});

describe('exit codes', () => {
  test('usage is 2, every other faultline error and any unexpected error 3: never 1, which is a finding', () => {
    expect(exitCodeFor(new UsageError('x'))).toBe(EXIT.usage);
    expect(exitCodeFor(new FaultlineError('FAULTLINE_DOCKER_UNAVAILABLE', 'x'))).toBe(3);
    expect(exitCodeFor(new FaultlineError('FAULTLINE_IMAGE_BUILD_FAILED', 'x'))).toBe(3);
    expect(exitCodeFor(new FaultlineError('FAULTLINE_PERMISSION', 'x'))).toBe(3);
    expect(exitCodeFor(new TypeError('bug'))).toBe(3);
    expect(EXIT).toEqual({ ok: 0, finding: 1, usage: 2, environment: 3, inconclusive: 4, interrupted: 130 });
  });
});
