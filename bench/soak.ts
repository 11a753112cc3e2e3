/**
 * Soak: do kill -9s leak, and do verdicts flake, over many runs? (`npm run soak`; not in `npm test`.)
 *
 *   1. R runs of the library's scenario x variant runs (default 30), one after another, each through
 *      the real bin in a child process. K of them (default 10) are SIGKILLed at a random moment
 *      (during start, inject, observe or heal, read from the run's progress on stderr); each is
 *      followed by the next run's sweep (the last by `faultline clean`, which is the same sweep).
 *      Then what the soak's processes left is counted: containers, networks, faultline iptables
 *      rules in any surviving container, Toxiproxy proxies, temp files (the runs get a TMPDIR of
 *      their own).
 *   2. M repeats (default 20) of the library (`faultline run --variant both`, 20 runs each),
 *      counting the repeats in which a verdict differed from the expected one. Such a repeat's
 *      line says what the diagnosis said, and its whole --json output and progress are kept in
 *      a directory it names ($TMPDIR/fl-soak-failed-<repeat>-*), to find the flake at its cause.
 *
 * Sizes: SOAK_RUNS / --runs, SOAK_KILLS / --kills, SOAK_REPEATS / --repeats, e.g.
 *   npm run soak -- --runs 6 --kills 3 --repeats 1
 * Last line: `soak: <R> runs, <K> killed, leaked <L>, flaky <F>/<M> library runs`.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type Docker from 'dockerode';
import { connectDocker, engineHost, hostPort } from '../harness/engine/docker';
import { ImageStore } from '../harness/engine/images';
import { HOST_LABEL, newRun, PID_LABEL, ROLE_LABEL, RUN_LABEL } from '../harness/engine/labels';
import { monotonicMs } from '../harness/util/time';
import { SCENARIOS } from '../scenarios';
import { VARIANTS, type ScenarioResult } from '../harness/scenario/types';
import { culpritOf, describeCulprit } from '../harness/scenario/culprit';
import type { Diagnosis } from '../harness/diagnose/model';

const BIN = join(__dirname, '..', 'bin', 'faultline.js');
const KILL_PHASES = ['start', 'inject', 'observe', 'heal'] as const;
type KillPhase = (typeof KILL_PHASES)[number];

function sizes(): { runs: number; kills: number; repeats: number } {
  const { values } = parseArgs({ options: { runs: { type: 'string' }, kills: { type: 'string' }, repeats: { type: 'string' } }, strict: true });
  const read = (flag: string, value: string | undefined, env: string | undefined, fallback: number) => {
    const raw = value ?? env;
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 0) {
      console.error(`soak: --${flag} must be an integer >= 0, got "${raw}"`);
      process.exit(2);
    }
    return n;
  };
  const runs = read('runs', values.runs, process.env.SOAK_RUNS, 30);
  const kills = read('kills', values.kills, process.env.SOAK_KILLS, 10);
  const repeats = read('repeats', values.repeats, process.env.SOAK_REPEATS, 20);
  if (kills > runs) {
    console.error(`soak: --kills (${kills}) must be at most --runs (${runs})`);
    process.exit(2);
  }
  return { runs, kills, repeats };
}

/** The phase a progress line shows: `[lost-fin incident] start: web 4s` -> start. */
function phaseOf(line: string): string | undefined {
  const m = /^\[[^\]]+\] (start|steady|inject|observe|heal|recover)\b/.exec(line);
  return m?.[1];
}

interface ChildOutcome {
  pid: number;
  code: number | null;
  killedIn?: string;
  stdout: string;
  stderr: string;
}

/**
 * Runs the bin with `args`; with `killAt`, SIGKILLs it at a random moment of that phase: after a
 * random 0-1.5 s once the phase shows on stderr (progress comes every second, so a phase shorter
 * than that, a quick heal, is caught by its first line or by the next phase's, whichever shows).
 */
function runBin(args: string[], tmp: string, killAt?: KillPhase): Promise<ChildOutcome> {
  return new Promise((resolve, reject) => {
    // TMPDIR of its own: what the soak's runs leave in it is theirs (other processes on a shared
    // machine write their own faultline-* files to /tmp).
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, TMPDIR: tmp } });
    let stdout = '';
    let stderr = '';
    let pending = '';
    let killedIn: string | undefined;
    let armed = false;
    const order = ['start', 'steady', 'inject', 'observe', 'heal', 'recover'];
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => {
      stderr += c;
      pending += String(c);
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        const phase = phaseOf(line);
        if (!killAt || armed || !phase || order.indexOf(phase) < order.indexOf(killAt)) continue;
        armed = true;
        const delay = phase === killAt && killAt !== 'heal' ? Math.floor(Math.random() * 1500) : 0;
        setTimeout(() => {
          if (child.exitCode === null) {
            killedIn = phase;
            child.kill('SIGKILL');
          }
        }, delay);
      }
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ pid: child.pid!, code, killedIn, stdout, stderr }));
  });
}

/** K distinct indexes of R, at random. */
function pick(k: number, r: number): Set<number> {
  const all = Array.from({ length: r }, (_, i) => i);
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [all[i], all[j]] = [all[j], all[i]];
  }
  return new Set(all.slice(0, k));
}


/** `faultline:` iptables rules in a container's network namespace, read by a NET_ADMIN sidecar. */
async function faultlineRules(docker: Docker, toolbox: string, containerId: string): Promise<number> {
  const c = await docker.createContainer({
    Image: toolbox,
    Cmd: ['sh', '-c', 'iptables-save 2>/dev/null | grep -c "faultline:" || true'],
    Labels: { ...newRun('soak').labels, [ROLE_LABEL]: 'soak-check' },
    HostConfig: { CapAdd: ['NET_ADMIN'], NetworkMode: `container:${containerId}` },
  });
  try {
    await c.start();
    await c.wait();
    const out = (await c.logs({ stdout: true, stderr: false })).toString('utf8').replace(/[^\d\n]/g, '');
    return Number(out.trim().split('\n').pop() || 0);
  } finally {
    await c.remove({ force: true }).catch(() => undefined);
  }
}

/** What the soak's own processes (by pid label, on this host) left behind. */
async function leftovers(docker: Docker, env: NodeJS.ProcessEnv, pids: Set<number>, tmp: string) {
  const ours = (labels: Record<string, string> | undefined) => !!labels && labels[HOST_LABEL] === hostname() && pids.has(Number(labels[PID_LABEL]));
  const containers = (await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } })).filter((c) => ours(c.Labels));
  const networks = (await docker.listNetworks({ filters: { label: [RUN_LABEL] } })).filter((n) => ours(n.Labels));
  const toolbox = await new ImageStore(docker, { env }).ensure('toolbox');
  let rules = 0;
  let proxies = 0;
  for (const c of containers.filter((x) => x.State === 'running')) {
    rules += await faultlineRules(docker, toolbox, c.Id);
    const api = c.Ports.find((p) => p.PrivatePort === 8474 && p.PublicPort);
    if (api) {
      const list = await fetch(`http://${hostPort(engineHost(env), api.PublicPort)}/proxies`, { signal: AbortSignal.timeout(3000) })
        .then((r) => r.json() as Promise<Record<string, unknown>>)
        .catch(() => ({}));
      proxies += Object.keys(list).length;
    }
  }
  // tsx's compile cache and testcontainers' lock are one per user by design (reused by every run),
  // not something a run leaves behind.
  const temp = readdirSync(tmp).filter((f) => !/^tsx-\d+$/.test(f) && !/^testcontainers-node-\d+\.lock$/.test(f));
  return { containers: containers.length, networks: networks.length, rules, proxies, temp: temp.length, names: [...containers.map((c) => c.Names[0]), ...networks.map((n) => n.Name), ...temp] };
}

/** What the diagnosis said, for a run whose culprit was not the expected one. */
function diagnosisText(r: ScenarioResult): string {
  const d = r.diagnosis as Diagnosis | undefined;
  if (!d) return '';
  const culprit = culpritOf(d);
  const why = [...(d.inconclusive?.reasons ?? []), ...(d.warnings ?? [])];
  return ` [diagnosis ${d.verdict}: ${culprit ? describeCulprit(culprit) : 'no culprit'}, ${d.chains?.length ?? 0} chains${why.length ? `; ${why.join('; ')}` : ''}]`;
}

/** Writes a flaky repeat's --json output and progress to a directory of its own, kept after the soak. */
function keepFailed(repeat: number, stdout: string, stderr: string): string {
  const dir = mkdtempSync(join(tmpdir(), `fl-soak-failed-${repeat}-`));
  writeFileSync(join(dir, 'run.json'), stdout);
  writeFileSync(join(dir, 'progress.txt'), stderr);
  return dir;
}

async function main(): Promise<void> {
  const { runs, kills, repeats } = sizes();
  const t0 = monotonicMs();
  const { docker } = await connectDocker(process.env);
  const library = SCENARIOS.flatMap((s) => VARIANTS.map((variant) => ({ scenario: s.name, variant })));
  const tmp = mkdtempSync(join(tmpdir(), 'fl-soak-'));
  const pids = new Set<number>();
  const toKill = pick(kills, runs);
  let killed = 0;

  for (let i = 0; i < runs; i++) {
    const { scenario, variant } = library[i % library.length];
    const killAt = toKill.has(i) ? KILL_PHASES[Math.floor(Math.random() * KILL_PHASES.length)] : undefined;
    const out = await runBin(['run', scenario, '--variant', variant, '--json'], tmp, killAt);
    pids.add(out.pid);
    if (out.killedIn) killed++;
    const what = out.killedIn ? `killed -9 in ${out.killedIn} (aimed at ${killAt})` : killAt ? `ended (exit ${out.code}) before its ${killAt} could be hit` : `exit ${out.code}`;
    console.error(`soak run ${i + 1}/${runs}: ${scenario} ${variant}: ${what} (+${((monotonicMs() - t0) / 1000).toFixed(0)} s)`);
  }
  // The sweep the next run would do, for the last one.
  const clean = await runBin(['clean'], tmp);
  pids.add(clean.pid);
  const left = await leftovers(docker, process.env, pids, tmp);
  const leaked = left.containers + left.networks + left.rules + left.proxies + left.temp;
  console.error(
    `soak leftovers: ${left.containers} containers, ${left.networks} networks, ${left.rules} iptables rules, ${left.proxies} proxies, ${left.temp} temp files` +
      (left.names.length ? ` (${left.names.join(', ')})` : ''),
  );

  let flaky = 0;
  for (let m = 0; m < repeats; m++) {
    const out = await runBin(['run', '--variant', 'both', '--json'], tmp);
    const results = (JSON.parse(out.stdout || '{"results":[]}').results ?? []) as ScenarioResult[];
    const differing = results.filter((r) => !r.matched);
    const failed = differing.length > 0 || results.length !== library.length;
    if (failed) flaky++;
    // A flake is found at its cause only with the run's whole record: keep it (diagnosis, history).
    const kept = failed ? keepFailed(m + 1, out.stdout, out.stderr) : undefined;
    console.error(
      `soak library ${m + 1}/${repeats}: ${results.length - differing.length}/${library.length} as expected` +
        differing.map((r) => `; ${r.scenario} ${r.variant}: ${r.verdict} (expected ${r.expected}): ${(r.mismatch ?? []).join(', ')}${diagnosisText(r)}`).join('') +
        (kept ? `; kept in ${kept}` : '') +
        ` (+${((monotonicMs() - t0) / 1000).toFixed(0)} s)`,
    );
  }
  rmSync(tmp, { recursive: true, force: true });
  console.error(`soak took ${((monotonicMs() - t0) / 1000).toFixed(0)} s`);
  console.log(`soak: ${runs} runs, ${killed} killed, leaked ${leaked}, flaky ${flaky}/${repeats} library runs`);
  process.exitCode = leaked === 0 && flaky === 0 && killed === kills ? 0 : 1;
}

main().catch((e) => {
  console.error(`soak: ${(e as Error).message}`);
  process.exit(2);
});
