/**
 * Bad input is caught before any engine work: each case runs the real bin (`node bin/faultline.js`)
 * and must give exit 2 (3 for a missing engine), exactly one line on stderr naming the flag, field
 * or variable, no stack trace, nothing on stdout, and no container.
 *
 * How "no container started" is proven, rather than hoped for:
 * 1. Every child runs with DOCKER_HOST at a unix socket that does not exist (unless the case is
 *    about DOCKER_HOST itself, with a value no client can use). A command that reached its first
 *    engine call would fail there with FAULTLINE_DOCKER_UNAVAILABLE and exit 3, not 2: the exit
 *    code itself says the engine was never asked.
 * 2. testcontainers has its own engine discovery, which may fall back to /var/run/docker.sock
 *    whatever DOCKER_HOST says. So the test also asks the real engine for every container created
 *    while the cases ran and checks none carries the pid label (dev.faultline.pid) of one of the
 *    children. Docker's event log keeps creations even of containers already removed again; a
 *    container the test creates itself (never started) proves the query sees them.
 * Timing ("failed within N s") is not used: it proves nothing on a shared 2-core machine.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { connectDocker } from '../../harness/engine/docker';
import { HOST_LABEL, IMAGE_LABEL, newRun, PID_LABEL } from '../../harness/engine/labels';
import { runCli, type CliRun } from '../helpers/cli';

const NO_ENGINE = 'unix:///nonexistent/faultline-bad-input/docker.sock';

interface Case {
  what: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  /** 2 (bad input) unless said otherwise. */
  code?: 2 | 3;
  /** The one stderr line must match this (it names the flag, field or variable). */
  names: RegExp;
}

const dir = mkdtempSync(join(tmpdir(), 'faultline-bad-input-'));
const file = (name: string, text: string) => {
  writeFileSync(join(dir, name), text);
  return join(dir, name);
};
/** A scenario object as a user writes it, with `patch` applied, exported from its own file. */
const scenarioFile = (name: string, patch: string) =>
  file(
    name,
    `const base = { name: 'mine', summary: 'a scenario', shows: 'something', variants: { incident: { expected: 'hung' }, fixed: { expected: 'responsive' } }, async run() {} };\n` +
      `export const scenario = { ...base, ${patch} };\n`,
  );

/** A knob declaration as a scenario file writes it (the schema accepts it; the knob checks judge the rest). */
const KNOB = "{ name: 't', type: 'int', unit: 'ms', min: 0, max: 10, reaches: { kind: 'query', name: 't' }, summary: 'a timeout' }";

const cases: Case[] = [
  // run: flags
  { what: '--parallel above the cap', args: ['run', '--parallel', '99999'], names: /--parallel must be an integer from 1 to 16, got "99999"/ },
  { what: '--parallel 0', args: ['run', 'lost-fin', '--parallel', '0'], names: /--parallel must be an integer from 1 to 16/ },
  { what: '--parallel not a number', args: ['run', '--parallel', 'lots'], names: /--parallel .*got "lots"/ },
  { what: '--parallel 2.5', args: ['run', '--parallel', '2.5'], names: /--parallel/ },
  { what: 'unknown --variant', args: ['run', '--variant', 'maybe'], names: /--variant must be incident, fixed or both, got "maybe"/ },
  { what: '--variant without a value', args: ['run', '--variant'], names: /--variant needs a value/ },
  { what: 'unknown flag', args: ['run', '--frobnicate'], names: /unknown flag --frobnicate/ },
  { what: '--junit in /proc', args: ['run', 'lost-fin', '--junit', '/proc/x.xml'], names: /--junit \/proc\/x\.xml cannot be written/ },
  { what: '--junit a directory', args: ['run', 'lost-fin', '--junit', dir], names: /--junit .* is a directory/ },
  { what: '--junit in a missing folder', args: ['run', 'lost-fin', '--junit', join(dir, 'no', 'such', 'r.xml')], names: /--junit .*the folder .*no\/such does not exist/ },
  { what: '--junit empty', args: ['run', 'lost-fin', '--junit='], names: /--junit needs a file path/ },
  { what: 'unknown scenario', args: ['run', 'no-such-scenario'], names: /unknown scenario "no-such-scenario": valid scenarios are lost-fin/ },
  { what: 'missing scenario file', args: ['run', join(dir, 'missing.ts')], names: /missing\.ts does not exist/ },
  // other commands: flags and arguments
  { what: 'unknown command', args: ['frobnicate'], names: /unknown command "frobnicate"/ },
  { what: 'list with an argument', args: ['list', 'everything'], names: /list: unexpected argument "everything"/ },
  { what: 'list unknown flag', args: ['list', '--all'], names: /unknown flag --all/ },
  { what: 'images unknown action', args: ['images', 'destroy'], names: /images: unknown action "destroy"/ },
  { what: 'images unknown flag', args: ['images', '--force'], names: /unknown flag --force/ },
  { what: 'doctor with an argument', args: ['doctor', 'now'], names: /doctor: unexpected argument "now"/ },
  { what: 'clean with an argument', args: ['clean', 'everything'], names: /clean: unexpected argument "everything"/ },
  { what: 'clean --all with a value', args: ['clean', '--all=yes'], names: /--all/ },
  { what: 'diagnose without a target', args: ['diagnose'], names: /say which processes: --match REGEX/ },
  { what: 'diagnose --match of 100 KB', args: ['diagnose', '--match', 'a'.repeat(100_000)], names: /--match is 100000 characters long: give a pattern of at most 1000/ },
  { what: 'diagnose --match invalid', args: ['diagnose', '--match', '(unclosed'], names: /--match "\(unclosed" is not a valid regular expression/ },
  { what: 'diagnose --match empty', args: ['diagnose', '--match='], names: /--match needs a non-empty regular expression/ },
  { what: 'diagnose --pid not a number', args: ['diagnose', '--pid', 'apache'], names: /--pid "apache" must be process ids/ },
  { what: 'diagnose --pid 0', args: ['diagnose', '--pid', '0'], names: /--pid "0" must be process ids from 1 to 4194304/ },
  { what: 'diagnose --pid above PID_MAX_LIMIT', args: ['diagnose', '--pid', '99999999'], names: /--pid "99999999"/ },
  { what: 'diagnose --samples 0', args: ['diagnose', '--pid', '1', '--samples', '0'], names: /--samples "0" must be a whole number from 1 to 100/ },
  { what: 'diagnose --samples 1000', args: ['diagnose', '--pid', '1', '--samples', '1000'], names: /--samples "1000"/ },
  { what: 'diagnose --interval negative', args: ['diagnose', '--pid', '1', '--interval', '-5'], names: /--interval "-5" must be milliseconds from 0 to 60000/ },
  { what: 'diagnose --interval an hour', args: ['diagnose', '--pid', '1', '--interval', '3600000'], names: /--interval "3600000"/ },
  { what: 'diagnose --match and --pid', args: ['diagnose', '--match', 'x', '--pid', '1'], names: /give --match or --pid, not both/ },
  { what: 'diagnose --container not a name', args: ['diagnose', '--container', 'bad name!'], names: /--container "bad name!" is not a container name/ },
  { what: 'diagnose flag twice', args: ['diagnose', '--pid', '1', '--samples', '2', '--samples', '3'], names: /--samples given twice/ },
  // environment
  { what: 'DOCKER_HOST garbage (run)', args: ['run', 'lost-fin'], env: { DOCKER_HOST: 'garbage' }, names: /DOCKER_HOST=garbage is not an engine address: use unix:\/\/\/.* or tcp:\/\/host:port/ },
  { what: 'DOCKER_HOST garbage (images)', args: ['images'], env: { DOCKER_HOST: 'garbage' }, names: /DOCKER_HOST=garbage/ },
  { what: 'DOCKER_HOST garbage (doctor)', args: ['doctor'], env: { DOCKER_HOST: 'garbage' }, names: /DOCKER_HOST=garbage/ },
  { what: 'DOCKER_HOST bad port (clean)', args: ['clean'], env: { DOCKER_HOST: 'tcp://127.0.0.1:99999' }, names: /DOCKER_HOST=tcp:\/\/127\.0\.0\.1:99999 is not a valid tcp:\/\/ address/ },
  { what: 'DOCKER_HOST relative socket', args: ['run', 'lost-fin'], env: { DOCKER_HOST: 'unix://docker.sock' }, names: /DOCKER_HOST=unix:\/\/docker\.sock needs an absolute socket path/ },
  // A tcp:// engine that does not answer is bad input naming DOCKER_HOST (remote engines are
  // supported); port 1 of this machine, so nothing is ever sent elsewhere.
  { what: 'DOCKER_HOST tcp engine that does not answer', args: ['run', 'lost-fin'], env: { DOCKER_HOST: 'tcp://0.0.0.0:1' }, names: /DOCKER_HOST=tcp:\/\/0\.0\.0\.0:1 does not answer as a Docker engine/ },
  { what: 'FAULTLINE_BASE_IMAGE not a reference', args: ['run', 'lost-fin'], env: { FAULTLINE_BASE_IMAGE: 'Not An Image!' }, names: /FAULTLINE_BASE_IMAGE=Not An Image! is not an image reference/ },
  { what: 'FAULTLINE_TOXIPROXY_IMAGE not a reference (images)', args: ['images'], env: { FAULTLINE_TOXIPROXY_IMAGE: 'UPPER/Case' }, names: /FAULTLINE_TOXIPROXY_IMAGE=UPPER\/Case/ },
  { what: 'FAULTLINE_TOXIPROXY_IMAGE not a reference (doctor)', args: ['doctor'], env: { FAULTLINE_TOXIPROXY_IMAGE: 'a b' }, names: /FAULTLINE_TOXIPROXY_IMAGE=a b/ },
  { what: 'no engine (run): environment', args: ['run', 'lost-fin', '--variant', 'fixed'], code: 3, names: /no Docker engine answers at unix:\/\/\/nonexistent.*\[FAULTLINE_DOCKER_UNAVAILABLE\]/ },
  { what: 'no engine (images): environment', args: ['images'], code: 3, names: /no Docker engine answers .*\[FAULTLINE_DOCKER_UNAVAILABLE\]/ },
  { what: 'no engine (clean): environment', args: ['clean'], code: 3, names: /no Docker engine answers .*\[FAULTLINE_DOCKER_UNAVAILABLE\]/ },
  // scenario files
  { what: 'file with a syntax error', args: ['run', file('syntax.ts', 'export const s = {\n  name: "x",\n  run( {\n};\n')], names: /syntax\.ts:4:1: Expected "\)" but found ";" \(the file does not compile\)/ },
  { what: 'file of plain text', args: ['run', file('notes.ts', 'this is not a scenario\n')], names: /notes\.ts:1:\d+: Expected ";" but found "is"/ },
  { what: 'JavaScript file with a syntax error', args: ['run', file('broken.js', 'module.exports = {\n  name: ,\n};\n')], names: /broken\.js:2:\d+: / },
  { what: 'file that throws at import', args: ['run', file('throws.ts', 'const a = 1;\nthrow new Error("boom at import " + a);\n')], names: /throws\.ts:2:7: Error: boom at import 1/ },
  { what: 'file with a TypeError at import', args: ['run', file('typeerror.ts', 'const o: any = undefined;\nexport const s = o.name;\n')], names: /typeerror\.ts:2:\d+: TypeError: Cannot read properties of undefined/ },
  { what: 'file importing a missing module', args: ['run', file('imports.ts', 'import { x } from "./no-such-helper";\nexport const s = x;\n')], names: /imports\.ts:1:19: Cannot find module '\.\/no-such-helper'/ },
  { what: 'a directory named x.ts', args: ['run', (mkdirSync(join(dir, 'folder.ts')), join(dir, 'folder.ts'))], names: /folder\.ts is a directory, not a scenario file/ },
  { what: 'file exporting nothing', args: ['run', file('nothing.ts', 'export const answer = 42;\nexport function helper() {}\n')], names: /nothing\.ts exports no scenario/ },
  // scenario objects
  { what: 'expected banana', args: ['run', scenarioFile('banana.ts', "variants: { incident: { expected: 'banana' }, fixed: { expected: 'responsive' } }")], names: /banana\.ts: scenario "mine": variants\.incident\.expected: must be one of hung, .*got "banana"/ },
  { what: 'unknown variant', args: ['run', scenarioFile('canary.ts', "variants: { incident: { expected: 'hung' }, canary: { expected: 'hung' } }")], names: /canary\.ts: scenario "mine": variants\.canary: unknown field/ },
  { what: 'no variants', args: ['run', scenarioFile('novariants.ts', 'variants: undefined')], names: /novariants\.ts: scenario "mine": variants: is required/ },
  { what: 'no run', args: ['run', scenarioFile('norun.ts', 'run: undefined')], names: /norun\.ts: scenario "mine": run: is required and must be a function/ },
  { what: 'unsafe name', args: ['run', scenarioFile('badname.ts', "name: 'my scenario; rm -rf'")], names: /badname\.ts: scenario "my scenario; rm -rf": name: must be 1-64 lower-case/ },
  { what: 'misspelt field', args: ['run', scenarioFile('typo.ts', "summry: 'x'")], names: /typo\.ts: scenario "mine": summry: unknown field/ },
  { what: 'workers.match as a string', args: ['run', scenarioFile('workers.ts', "workers: { comm: 'python3', match: 'app.py' }")], names: /workers\.ts: scenario "mine": workers\.match: must be a regular expression/ },
  { what: 'culprit of an unknown kind', args: ['run', scenarioFile('culprit.ts', "variants: { incident: { expected: 'hung', culprit: { service: 'profile', kind: 'gremlins' } }, fixed: { expected: 'responsive' } }")], names: /variants\.incident\.culprit\.kind: must be one of/ },
  { what: 'a knob declared twice', args: ['run', scenarioFile('dupknob.ts', `knobs: [${KNOB}, ${KNOB}]`)], names: /dupknob\.ts: scenario "mine": knobs\.1\.name: knob "t" is declared twice/ },
  { what: 'a knob default out of its range', args: ['run', scenarioFile('knobdefault.ts', `knobs: [{ ...${KNOB}, default: 99 }]`)], names: /knobdefault\.ts: scenario "mine": knobs\.0\.default: default of t=99: t must be an integer in ms from 0 to 10/ },
  { what: 'duplicate name with a bundled scenario', args: ['run', 'lost-fin', scenarioFile('dup.ts', "name: 'lost-fin'")], names: /dup\.ts: scenario "lost-fin": name: "lost-fin" is already the name of another scenario in this run \(bundled\)/ },
  { what: 'duplicate names in one file', args: ['run', file('twins.ts', "const s = { summary: 's', shows: 's', variants: { incident: { expected: 'hung' as const } }, async run() {} };\nexport const a = { ...s, name: 'twin' };\nexport const b = { ...s, name: 'twin' };\n"), '--variant', 'incident'], names: /twins\.ts: scenario "twin": name: "twin" is already the name/ },
  { what: '--variant fixed on a scenario without one', args: ['run', '--variant', 'fixed', scenarioFile('nofixed.ts', "variants: { incident: { expected: 'hung' } }")], names: /nofixed\.ts: scenario "mine": variants\.fixed: the scenario has no fixed variant: add variants\.fixed, or run it with --variant incident/ },
  { what: 'both variants (default) on a scenario without fixed', args: ['run', scenarioFile('nofixed2.ts', "variants: { incident: { expected: 'hung' } }")], names: /variants\.fixed: the scenario has no fixed variant/ },
];

/** Container creations the engine logged between `since` and now (Docker keeps them after removal). */
async function containersCreated(docker: Docker, since: number): Promise<Array<Record<string, string>>> {
  const until = Math.ceil(Date.now() / 1000) + 1;
  const stream = (await docker.getEvents({ since, until, filters: { type: ['container'], event: ['create'], label: [PID_LABEL] } })) as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk;
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => (JSON.parse(line) as { Actor: { Attributes: Record<string, string> } }).Actor.Attributes);
}

describe('bad input through the real bin: one line, exit 2 (3: environment), before any engine work', () => {
  const results = new Map<string, CliRun & { pid?: number }>();
  let since = 0;
  let docker: Docker;

  beforeAll(async () => {
    ({ docker } = await connectDocker(process.env));
    since = Math.floor(Date.now() / 1000) - 1;
    // Small concurrent batches: each child is a node + tsx start (~1-2 s of CPU; 5-9 s each when
    // the shared 2-core machine runs at load 25, hence the long hook timeout).
    const BATCH = 4;
    for (let i = 0; i < cases.length; i += BATCH) {
      await Promise.all(
        cases.slice(i, i + BATCH).map(async (c) => {
          let pid: number | undefined;
          const env = { ...process.env, DOCKER_HOST: NO_ENGINE, FAULTLINE_BASE_IMAGE: '', FAULTLINE_TOXIPROXY_IMAGE: '', ...c.env };
          const run = await runCli(c.args, { env, onStderr: (_chunk, child) => (pid ??= child.pid) });
          results.set(c.what, { ...run, pid });
        }),
      );
    }
  }, 900_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test('there are at least 40 cases, each with its own name', () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
    expect(new Set(cases.map((c) => c.what)).size).toBe(cases.length);
  });

  test.each(cases.map((c) => [c.what, c] as const))('%s', (_what, c) => {
    const run = results.get(c.what);
    expect(run).toBeDefined();
    const { code, stdout, stderr } = run as CliRun;
    const lines = stderr.split('\n').filter((l) => l !== '');
    expect({ code, lines }).toEqual({ code: c.code ?? 2, lines: [expect.stringMatching(c.names)] });
    expect(lines[0]).toMatch(/^faultline[ :]/);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(stdout).toBe('');
  });

  test('no child created a container (the engine event log, checked to see creations)', async () => {
    // A container of our own, created and removed, never started: the query must see it.
    // Without it an empty answer proves nothing, so no image is a failure, not a skip.
    const images = await docker.listImages({ filters: { label: [IMAGE_LABEL] } });
    const image = images.find((i) => i.RepoTags?.length)?.RepoTags?.[0];
    if (!image) throw new Error('no faultline image on this engine for the positive control: run `npx faultline images build` first');
    const probe = newRun('bad-input');
    const c = await docker.createContainer({ Image: image, Cmd: ['true'], Labels: probe.labels, HostConfig: { NetworkMode: 'none' } });
    await c.remove({ force: true });
    const created = await containersCreated(docker, since);
    expect(created.some((a) => a['dev.faultline.run'] === probe.runId)).toBe(true);
    const children = new Set([...results.values()].map((r) => String(r.pid)));
    expect(children.size).toBe(cases.length);
    const ours = created.filter((a) => a[HOST_LABEL] === hostname() && children.has(a[PID_LABEL]));
    expect(ours).toEqual([]);
  });
});
