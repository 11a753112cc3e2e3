/** `faultline report` input errors and `run --report` checks, through the bin as users type them. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli';

jest.setTimeout(60_000);

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'faultline-report-cli-'));
  writeFileSync(join(dir, 'not-json.json'), 'this is { not json');
  writeFileSync(join(dir, 'other.json'), JSON.stringify({ name: 'package', version: '1' }));
  writeFileSync(join(dir, 'bad-result.json'), JSON.stringify({ results: [{ scenario: 'lost-fin', variant: 'incident' }] }));
  writeFileSync(join(dir, 'a-file'), 'x');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One line naming the argument, exit 2, no stack trace. */
async function expectUsage(args: string[], mention: RegExp, env: NodeJS.ProcessEnv = process.env) {
  const run = await runCli(args, { env });
  expect(run.stderr).not.toMatch(/\n\s+at /);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
  expect(run.stderr).toMatch(mention);
  expect(run.code).toBe(2);
  expect(run.stdout).toBe('');
}

describe('faultline report: bad input', () => {
  const out = () => join(dir, 'out');
  test('missing file', () => expectUsage(['report', join(dir, 'nope.json'), '--out', out()], /RESULT\.json .*nope\.json does not exist/));
  test('not JSON', () => expectUsage(['report', join(dir, 'not-json.json'), '--out', out()], /RESULT\.json .*not-json\.json is not JSON/));
  test('JSON but not a results document', () => expectUsage(['report', join(dir, 'other.json'), '--out', out()], /other\.json is not a results document/));
  test('a result missing what a report needs', () => expectUsage(['report', join(dir, 'bad-result.json'), '--out', out()], /results\[0\] has no string "verdict"/));
  test('unwritable --out', () => expectUsage(['report', join(__dirname, '..', 'fixtures', 'report', 'library.json'), '--out', join(dir, 'a-file', 'sub')], /--out .*a-file\/sub is not a writable directory/));
  test('no --out', () => expectUsage(['report', join(dir, 'other.json')], /--out DIR is required/));
  test('no RESULT.json', () => expectUsage(['report', '--out', out()], /RESULT\.json: give exactly one results file/));
  test('--help', async () => {
    const run = await runCli(['report', '--help']);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage: faultline report RESULT\.json --out DIR/);
  });
});

test('run --report refuses an unwritable directory before any engine work', async () => {
  // An engine that cannot be reached: were it tried first, the error would be about Docker.
  const env = { ...process.env, DOCKER_HOST: 'tcp://127.0.0.1:1' };
  await expectUsage(['run', 'lost-fin', '--report', join(dir, 'a-file', 'sub')], /faultline run: --report .*a-file\/sub is not a writable directory/, env);
});
