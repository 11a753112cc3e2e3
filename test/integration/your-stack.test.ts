import { join } from 'node:path';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { GenericContainer, Wait } from 'testcontainers';
import { connectDocker } from '../../harness/engine/docker';
import { ImageStore } from '../../harness/engine/images';
import { newRun, RUN_LABEL } from '../../harness/engine/labels';
import { lostFin } from '../../harness/faults/packet';
import { webDiagnoser } from '../../harness/scenario/diagnoser';
import { runScenario } from '../../harness/scenario/runner';
import type { Scenario } from '../../harness/scenario/types';
import { Topology, type StartedTopology } from '../../harness/topology/topology';
import { profileUnderFault } from '../../scenarios/lost-fin';
import { runCli } from '../helpers/cli';

/** A service faultline does not bundle: a Perl line server built from a Dockerfile directory. */
const QUOTES = join(__dirname, '..', '..', 'examples', 'your-stack', 'quotes');

async function leftovers(runId: string): Promise<number> {
  const { docker } = await connectDocker();
  const label = { label: [`${RUN_LABEL}=${runId}`] };
  return (await docker.listContainers({ all: true, filters: label })).length + (await docker.listNetworks({ filters: label })).length;
}

describe('your stack: withService', () => {
  test("an unbundled service behind a named proxy: a packet fault by its name hangs the pool, and the diagnosis names it", async () => {
    const { docker } = await connectDocker();
    // The same image again, as a GenericContainer the user configured: the second source kind.
    const quotesTag = await new ImageStore(docker).ensureContext(QUOTES, 'quotes');
    let seen: { proxies: string[]; env: string[]; networks: string[] } | undefined;
    const scenario: Scenario = {
      name: 'quotes-lost-fin',
      summary: "the quotes service's FIN lost while a worker reads it",
      shows: 'a service of your own under a packet fault, named by the diagnoser',
      variants: { incident: { expected: 'hung', culprit: { service: 'quotes', kind: 'silent-peer' } }, fixed: { expected: 'responsive' } },
      // The bundled web app's profile page reads its upstream from FL_PROFILE_ADDR: point it at quotes.
      topology: (t) =>
        t
          .withoutDemoServices()
          .withService('quotes', QUOTES, { port: 7000, appEnv: { FL_PROFILE_ADDR: '{addr}', QUOTES_HOST: '{host}', QUOTES_PORT: '{port}' } })
          .withService('quotes-b', new GenericContainer(quotesTag).withWaitStrategy(Wait.forLogMessage('quotes listening')), {
            port: 7000,
            seed: { files: { '/tmp/seeded.txt': 'seeded\n' }, command: ['perl', '-e', 'open(my $f, "<", "/tmp/seeded.txt") or die "no seed file"'] },
          }),
      async run(ctx) {
        await profileUnderFault(ctx, lostFin('quotes'));
      },
    };
    const result = await runScenario(scenario, {
      variant: 'incident',
      diagnoser: webDiagnoser(),
      onStarted: (topo: StartedTopology) => {
        void (async () => {
          const info = await docker.getContainer(topo.web.container.getId()).inspect();
          seen = {
            proxies: Object.keys(await topo.toxiproxy.client.getAll()).sort(),
            env: info.Config.Env.filter((e) => /^(FL_|QUOTES_)/.test(e)).sort(),
            networks: Object.keys(info.NetworkSettings.Networks),
          };
        })();
      },
    });
    expect(seen?.proxies).toEqual(['quotes', 'quotes-b']);
    expect(seen?.env).toEqual(['FL_MAX_WORKERS=8', 'FL_PROFILE_ADDR=toxiproxy:10000', 'FL_QUOTES_B_ADDR=toxiproxy:10001', 'QUOTES_HOST=toxiproxy', 'QUOTES_PORT=10000']);
    expect(result.mismatch).toBeUndefined();
    expect(result).toMatchObject({ verdict: 'hung', matched: true });
    expect(result.faults.map((f) => f.name)).toEqual(['lost-fin(quotes)']);
    const diagnosis = result.diagnosis as { culprit: { kind: string; resource: { service?: string } } };
    expect(diagnosis.culprit).toMatchObject({ kind: 'silent-peer', resource: { service: 'quotes' } });
    expect(await leftovers(result.runId)).toBe(0);
  });

  test('the README example runs as written: faultline run examples/your-stack/scenario.ts', async () => {
    const run = await runCli(['run', join(__dirname, '..', '..', 'examples', 'your-stack', 'scenario.ts'), '--json']);
    expect({ code: run.code, stderr: run.code === 0 ? '' : run.stderr.slice(-2000) }).toEqual({ code: 0, stderr: '' });
    const results = JSON.parse(run.stdout).results as Array<{ variant: string; verdict: string; matched: boolean; diagnosis?: { culprit?: { kind: string; resource: { service?: string } } } }>;
    expect(results.map((r) => `${r.variant} ${r.verdict} ${r.matched}`)).toEqual(['incident hung true', 'fixed responsive true']);
    expect(results[0].diagnosis?.culprit).toMatchObject({ kind: 'silent-peer', resource: { service: 'quotes' } });
  }, 300_000);

  test('a missing image or a Dockerfile that fails to build is one error naming the service and the field, and leaves nothing running', async () => {
    const missing = newRun();
    await expect(
      new Topology().withoutDemoServices().withService('ledger', 'faultline-test/no-such-image:1', { port: 5432 }).start({ run: missing }),
    ).rejects.toMatchObject({ code: 'FAULTLINE_IMAGE_BUILD_FAILED', message: expect.stringMatching(/^withService\("ledger"\): source image "faultline-test\/no-such-image:1" is not on this engine and cannot be pulled/) });
    expect(await leftovers(missing.runId)).toBe(0);

    const dir = mkdtempSync(join(tmpdir(), 'fl-broken-'));
    writeFileSync(join(dir, 'Dockerfile'), 'ARG BASE=debian:bookworm-slim\nFROM ${BASE}\nRUN exit 42\n');
    const broken = newRun();
    const attempt = new Topology().withoutDemoServices().withService('ledger', dir, { port: 5432 }).start({ run: broken });
    await expect(attempt).rejects.toMatchObject({ code: 'FAULTLINE_IMAGE_BUILD_FAILED', message: expect.stringMatching(/^withService\("ledger"\): source: app image .* could not be built/) });
    await expect(attempt).rejects.toThrow(/^[^\n]*$/); // one line
    expect(await leftovers(broken.runId)).toBe(0);
  });
});
