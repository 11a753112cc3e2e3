/**
 * The package as users get it: `npm pack`, installed from the tarball into fresh projects under
 * the OS temp dir (no path to this repo's node_modules), where
 * - every `npx faultline ...` command the README shows runs through the installed bin (COMMANDS
 *   says how each is run; a README command missing from it fails the test);
 * - every ```ts block of the README runs as written, as its `<!-- example: KIND -->` comment says
 *   (the convention is in test/helpers/readme.ts): jest examples with ts-jest's DEFAULT settings
 *   (no esModuleInterop) in a CommonJS project, module examples in an ESM project
 *   ("type": "module"), scenario files through `npx faultline run ./FILE`.
 * It also holds the whole incident library's run (the README's main job), once, with the
 * assertions on each scenario's outcome.
 *
 * One consumer install serves every check; the light commands run concurrently, the runs whose
 * verdicts rest on timings run one after another.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGE_NAMES } from '../../harness/engine/image-catalogue';
import { faultlineMatchers } from '../../harness/jest/matchers';
import { readmeCommands, readmeExamples, type ReadmeExample } from '../helpers/readme';

expect.extend(faultlineMatchers);

const REPO = join(__dirname, '..', '..');
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;

/** One run of the whole library stands for the README commands that differ only in output flags. */
const LIBRARY_RUN = 'npx faultline run --variant both --junit faultline-junit.xml --json';
/** How each README command is run here: the command itself, or what stands for it. */
const COMMANDS: Record<string, string> = {
  'npx faultline run --json': LIBRARY_RUN,
  'npx faultline run': LIBRARY_RUN,
  'npx faultline run ./my-scenario.ts': 'npx faultline run ./my-scenario.ts',
  'npx faultline list': 'npx faultline list',
  'npx faultline images': 'npx faultline images',
  'npx faultline images build': 'npx faultline images build',
  'npx faultline doctor': 'npx faultline doctor',
  'npx faultline clean': 'npx faultline clean',
  // Removes every labelled resource on the engine: test/integration/cli-commands.test.ts runs it (in CI).
  'npx faultline clean --all': 'cli-commands.test.ts',
  // The example's Dockerfile directory is in this repository, not in the package:
  // test/integration/user-app.test.ts runs this command through bin/faultline.js.
  'npx faultline run examples/python-pool/scenario.ts --variant both': 'user-app.test.ts',
  'npx faultline sweep examples/python-pool/scenario.ts --variant fixed --vary timeout_ms=500,4000': 'user-app.test.ts',
  'npx faultline run examples/your-stack/scenario.ts': 'your-stack.test.ts',
  // A CI template (GitHub Actions matrix): test/integration/shard.test.ts runs --shard through the bin.
  'npx faultline run --variant both --shard ${{ matrix.shard }}/3 --junit faultline-junit.xml --report faultline-report': 'shard.test.ts',
};
const LIGHT = ['npx faultline --version', 'npx faultline list', 'npx faultline list --json', 'npx faultline images', 'npx faultline images --json', 'npx faultline images build', 'npx faultline doctor'];
/** One after another: two sweeps at once would race for the same leftovers. */
const CLEANS = ['npx faultline clean', 'npx faultline clean --json'];

/** The consumer's environment: nothing that points back into this repo or at jest's worker. */
function consumerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(npm_|INIT_CWD$|NODE_PATH$|NODE_OPTIONS$|JEST_WORKER_ID$)/i.test(k)) env[k] = v;
  }
  return env;
}

interface Done {
  command: string;
  code: number | null;
  stdout: string;
  stderr: string;
  pid: number;
}

/** Runs a command line (no shell: words split on spaces) in a consumer directory. */
function sh(command: string, cwd: string, timeoutMs: number): Promise<Done> {
  const [file, ...args] = command.split(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, env: consumerEnv(), stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs, killSignal: 'SIGKILL' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ command, code, stdout, stderr, pid: child.pid ?? 0 }));
  });
}

/** Asserts exit 0, showing the command's output when it is not. */
function ok(run: Done): Done {
  expect({ command: run.command, code: run.code, tail: run.code === 0 ? '' : `${run.stdout.slice(-3000)}\n${run.stderr.slice(-3000)}` }).toEqual({ command: run.command, code: 0, tail: '' });
  return run;
}

const docker = (args: string[]) =>
  new Promise<string>((resolve, reject) => execFile('docker', args, (e, out) => (e ? reject(e) : resolve(out.trim()))));

const work = mkdtempSync(join(tmpdir(), 'faultline-consumer-'));
const cjs = join(work, 'cjs');
const esm = join(cjs, 'esm');
const examples = readmeExamples();
const byKind = (kind: ReadmeExample['kind']) => examples.filter((e) => e.kind === kind);

beforeAll(async () => {
  mkdirSync(esm, { recursive: true });
  // `npm pack` runs prepack: dist/ is built from the sources now, as a publish would.
  ok(await sh(`npm pack --silent --pack-destination ${work}`, REPO, 300_000));
  const tarball = readdirSync(work).find((f) => f.endsWith('.tgz'));
  writeFileSync(join(cjs, 'package.json'), JSON.stringify({ name: 'faultline-consumer', private: true }));
  // ts-jest with its defaults: no tsconfig.json here, no options. No install scripts: faultline
  // has none, and its dependencies' (native ssh2 helpers for dockerode) are optional.
  writeFileSync(join(cjs, 'jest.config.js'), "module.exports = { testEnvironment: 'node', transform: { '^.+\\\\.ts$': 'ts-jest' } };\n");
  ok(await sh(`npm install --no-audit --no-fund --ignore-scripts --loglevel=error ${join(work, tarball!)} jest@29 ts-jest@29 typescript@5.9 @types/jest@29`, cjs, 600_000));

  for (const [i, e] of examples.entries()) {
    if (e.kind === 'jest') writeFileSync(join(cjs, `readme-${i}.test.ts`), e.code);
    if (e.kind === 'scenario') writeFileSync(join(cjs, e.file!), e.code);
    if (e.kind === 'typecheck') writeFileSync(join(cjs, `readme-${i}.ts`), e.code);
    if (e.kind === 'module') writeFileSync(join(esm, `readme-${i}.ts`), e.code);
  }
  // Compile-only examples (and scenario files, which tsx runs without checking types) under a
  // plain strict CommonJS setup. skipLibCheck: testcontainers' own declarations default-import
  // dockerode, which only compiles with esModuleInterop.
  const checked = examples.flatMap((e, i) => (e.kind === 'typecheck' ? [`readme-${i}.ts`] : e.kind === 'scenario' ? [e.file!] : []));
  writeFileSync(join(cjs, 'tsconfig.typecheck.json'), JSON.stringify({ compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, types: ['node'] }, files: checked }));
  writeFileSync(join(esm, 'package.json'), JSON.stringify({ name: 'faultline-esm-consumer', private: true, type: 'module' }));
  writeFileSync(join(esm, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'nodenext', target: 'es2022', strict: true, outDir: 'out', types: ['node'] }, include: ['*.ts'] }));
}, 900_000);

afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the packed package', () => {
  test('the main entry loads no bundled scenario; faultline/scenarios serves the library', async () => {
    writeFileSync(
      join(cjs, 'entries.js'),
      [
        "const main = require('faultline');",
        "const loaded = () => Object.keys(require.cache).filter((f) => /[\\/]dist[\\/]scenarios[\\/](?!common\\.js$)/.test(f));",
        'const before = loaded();',
        "const { SCENARIOS, profileUnderFault } = require('faultline/scenarios');",
        'console.log(JSON.stringify({ before, main: typeof main.runScenario, scenarios: SCENARIOS.map((s) => s.name), helper: typeof profileUnderFault, bundledInMain: "SCENARIOS" in main }));',
      ].join('\n'),
    );
    const run = ok(await sh('node entries.js', cjs, 60_000));
    const seen = JSON.parse(run.stdout) as { before: string[]; main: string; scenarios: string[]; helper: string; bundledInMain: boolean };
    expect(seen).toMatchObject({ before: [], main: 'function', helper: 'function', bundledInMain: false });
    expect(seen.scenarios).toContain('lost-fin');
  });

  test('ships compiled JavaScript, declarations and the image contexts, not the TypeScript sources', () => {
    const pkg = join(cjs, 'node_modules', 'faultline');
    expect(existsSync(join(pkg, 'dist', 'harness', 'index.js'))).toBe(true);
    expect(existsSync(join(pkg, 'dist', 'harness', 'index.d.ts'))).toBe(true);
    expect(existsSync(join(pkg, 'containers', 'web', 'Dockerfile'))).toBe(true);
    // So the bin runs dist/, and the consumer's compiler never sees faultline's sources. The only
    // TypeScript files are the storage node's and the API's, in their image build contexts.
    const files = (readdirSync(pkg, { recursive: true }) as string[]).filter((f) => !f.startsWith('node_modules'));
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')).sort()).toEqual([join('containers', 'api', 'src', 'server.ts'), join('containers', 'storage', 'src', 'server.ts')]);
  });

  test('every README command is known here, and every one known here is in the README', () => {
    expect(readmeCommands().sort()).toEqual(Object.keys(COMMANDS).sort());
    expect(examples.map((e) => e.kind).sort()).toEqual(expect.arrayContaining(['jest', 'module', 'scenario']));
  });

  test('light commands through the installed bin; README examples type-check (CommonJS) and compile (ESM)', async () => {
    const cleans = async () => {
      const done: Done[] = [];
      for (const c of CLEANS) done.push(await sh(c, cjs, 300_000));
      return done;
    };
    const [concurrent, cleaned] = await Promise.all([
      Promise.all([
        ...LIGHT.map((c) => sh(c, cjs, 600_000)),
        sh('npx tsc -p tsconfig.typecheck.json', cjs, 300_000),
        sh('node ../node_modules/typescript/bin/tsc -p tsconfig.json', esm, 300_000),
      ]),
      cleans(),
    ]);
    const runs = [...concurrent, ...cleaned];
    runs.forEach(ok);
    const out = (c: string) => runs.find((r) => r.command === c)!.stdout;
    expect(out('npx faultline --version').trim()).toBe(VERSION);
    expect(out('npx faultline list')).toMatch(/^lost-fin$/m);
    expect((JSON.parse(out('npx faultline list --json')) as { scenarios: Array<{ name: string }> }).scenarios.map((s) => s.name)).toContain('partition-heal');
    const images = JSON.parse(out('npx faultline images --json')) as { images: Array<{ name: string; present: boolean }> };
    expect(images.images.map((i) => `${i.name}:${i.present}`).sort()).toEqual(
      [...IMAGE_NAMES].sort().map((n) => `${n}:true`),
    );
    expect(out('npx faultline images')).toMatch(/^web\s+faultline\/web:[0-9a-f]{12}/m);
    expect(out('npx faultline doctor')).toMatch(/^ok\s+engine: Docker/m);
    expect(JSON.parse(out('npx faultline clean --json'))).toMatchObject({ containers: expect.any(Array), networks: expect.any(Array) });
  }, 900_000);

  test('the module example runs in an ESM project and leaves nothing behind', async () => {
    const modules = byKind('module');
    expect(modules.length).toBeGreaterThan(0);
    for (const e of modules) {
      const run = ok(await sh(`node out/readme-${examples.indexOf(e)}.js`, esm, 300_000));
      // `await using` stopped the topology: nothing labelled with this process's pid remains.
      expect(await docker(['ps', '-aq', '--filter', `label=dev.faultline.pid=${run.pid}`])).toBe('');
      expect(await docker(['network', 'ls', '-q', '--filter', `label=dev.faultline.pid=${run.pid}`])).toBe('');
    }
  }, 600_000);

  test('the jest examples pass under ts-jest with its default settings', async () => {
    const run = ok(await sh('npx jest --runInBand', cjs, 900_000));
    expect(run.stderr).toMatch(new RegExp(`Tests:\\s+${byKind('jest').length} passed, ${byKind('jest').length} total`));
  }, 900_000);

  test('the scenario example runs as the README says: npx faultline run ./my-scenario.ts', async () => {
    const command = COMMANDS['npx faultline run ./my-scenario.ts'];
    const run = ok(await sh(command, cjs, 600_000));
    expect(run.stdout).toMatch(/^my-lost-fin\s+incident\s+hung\s+hung\s+yes\b.*silent-peer on profile/m);
    expect(run.stdout).toMatch(/^my-lost-fin\s+fixed\s+responsive\s+responsive\s+yes\b/m);
  }, 600_000);
});

/**
 * The README's main job, through the installed bin, once: every scenario x variant matched what
 * its scenario expects, with the culprit named and the data checked.
 */
describe('the incident library (npx faultline run --json)', () => {
  const SCENARIOS = [
    'lost-fin', 'stalled-write', 'slow-node', 'connect-blackhole', 'reset-mid-transfer', 'partition-heal', 'lost-fin-slow-close', 'partition-reject',
    // The modern PHP stack (nginx + PHP-FPM, MariaDB, Redis sessions, an internal API).
    'db-failover-half-open', 'redis-stall', 'api-no-timeout',
  ];
  let results: Array<Record<string, any>>;
  let code: number | null;
  let junit: string;
  const result = (scenario: string, variant: string) => results.find((r) => r.scenario === scenario && r.variant === variant)!;

  beforeAll(async () => {
    const run = await sh(LIBRARY_RUN, cjs, 900_000);
    code = run.code;
    if (code !== 0) console.error(run.stderr.slice(-4000));
    results = JSON.parse(run.stdout).results;
    junit = readFileSync(join(cjs, 'faultline-junit.xml'), 'utf8');
  }, 900_000);

  test('every scenario x variant matched what its scenario expects; exit 0', () => {
    expect(results.map((r) => `${r.scenario}/${r.variant}: ${r.matched ? 'ok' : r.mismatch?.join('; ')}`).sort()).toEqual(
      SCENARIOS.flatMap((s) => [`${s}/incident: ok`, `${s}/fixed: ok`]).sort(),
    );
    expect(code).toBe(0);
  });

  test('--junit writes one test case per scenario x variant, none failed', () => {
    expect(junit).toMatch(new RegExp(`<testsuite name="faultline" tests="${SCENARIOS.length * 2}" failures="0"`));
    expect(junit).toContain('<testcase classname="faultline.slow-node" name="slow-node [incident] is hung"');
  });

  test.each([
    ['lost-fin', 'silent-peer', 'profile'],
    ['stalled-write', 'peer-not-reading', 'storage-1'],
    ['slow-node', 'slow-peer', 'storage-3'],
    ['connect-blackhole', 'connect-stall', 'profile'],
    ['partition-heal', 'connect-stall', 'storage-1'],
    ['lost-fin-slow-close', 'silent-peer', 'profile'],
    ['db-failover-half-open', 'silent-peer', 'mariadb'],
    ['redis-stall', 'silent-peer', 'redis'],
    ['api-no-timeout', 'slow-peer', 'api'],
  ])('%s incident: the pool hangs and the diagnosis names %s on %s', (scenario, kind, service) => {
    const r = result(scenario, 'incident');
    expect(r.verdict).toBe('hung');
    expect(r.pool.busy).toBe(r.pool.size);
    expect(r).toNameCulprit({ kind, service });
  });

  test('stalled-write: the holder writes into a full send queue that the frozen node does not drain, with the reloads queued on its session lock', () => {
    const c = result('stalled-write', 'incident').diagnosis.culprit;
    expect(c.resource.txQueue).toBeGreaterThan(0);
    expect(c.holds[0].path).toMatch(/^\/var\/lib\/php\/sessions\/sess_/);
    expect(c.waiters.length).toBeGreaterThanOrEqual(3);
  });

  test('slow-node: the workers pile up on the slow replica with no lock involved', () => {
    const c = result('slow-node', 'incident').diagnosis.culprit;
    expect(c.holds).toEqual([]);
    // Only uploads past --stuck-after (5 s) count: one starts every 600 ms, so at the diagnosis
    // (8.5 s in) three to six workers are that old (measured 3, 5, 6, 3, 5); younger ones are in flight.
    expect(c.waiters.length).toBeGreaterThanOrEqual(2);
    expect(c.evidence.join('\n')).toMatch(/workers wait on the same upstream storage-3/);
  });

  test('fixed variants stay responsive and lose nothing', () => {
    for (const s of SCENARIOS) {
      const r = result(s, 'fixed');
      expect(r.verdict).toBe('responsive');
      expect(r).toStayResponsive({ p99Ms: 1000, errorRate: 0 });
      if (r.data) expect(r).toLoseNoData();
    }
    // Quorum writes with a slow third replica still acknowledge uploads, intact on two nodes.
    expect(result('slow-node', 'fixed').data.acknowledged).toBeGreaterThan(0);
  });

  test('reset-mid-transfer: no hung worker in either variant; the incident code acknowledges uploads that were never stored', () => {
    const incident = result('reset-mid-transfer', 'incident');
    expect(incident.verdict).toBe('data-lost');
    expect(incident.health.errors).toBe(0);
    expect(incident.data.lost).toBeGreaterThan(0);
    expect(incident.data.acknowledged).toBeGreaterThanOrEqual(incident.data.lost);
    expect(incident).not.toLoseNoData();
    const fixed = result('reset-mid-transfer', 'fixed');
    expect(fixed).toLoseNoData();
    expect(fixed.data.acknowledged).toBe(0);
  });

  test('db-failover-half-open and api-no-timeout: the waiters poll a lock kept in Redis, a link the diagnosis infers and says how', () => {
    for (const scenario of ['db-failover-half-open', 'api-no-timeout']) {
      const c = result(scenario, 'incident').diagnosis.culprit;
      expect(c.command).toBe('php-fpm8.2');
      expect(c.waiters.length).toBeGreaterThanOrEqual(3);
      expect(c.evidence[0]).toMatch(/^inferred convoy on redis-session-lock in redis: no kernel lock ties them/);
    }
  });

  test('partition-heal: the pool recovers within its bound after the heal', () => {
    for (const variant of ['incident', 'fixed']) {
      const r = result('partition-heal', variant);
      expect(r.faults[0]).toMatchObject({ name: 'partition(web,storage-1)', layer: 'packet' });
      expect(r.recoveryMs).toBeLessThanOrEqual(variant === 'incident' ? 25_000 : 5_000);
    }
  });
});
