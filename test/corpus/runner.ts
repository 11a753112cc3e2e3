/**
 * Runs the diagnosis corpus: each case starts real processes on this machine (loopback, UNIX
 * paths, or a network namespace it creates), waits, runs `node bin/faultline.js diagnose … --json`
 * in a child process as a user would, and judges the verdict, exit code and culprit against the
 * case's expectation. Every process, temp dir and netns a case creates is removed afterwards,
 * whatever happened (each process leads its own process group; the group is killed).
 *
 * Used by bench/corpus.ts (numbers) and test/integration/corpus.test.ts (every case right).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { CorpusCase, type CulpritExpectation, type Step } from './case';

export const CASES_DIR = path.join(__dirname, 'cases');
export const PROGRAMS_DIR = path.join(__dirname, 'programs');
const BIN = path.join(__dirname, '..', '..', 'bin', 'faultline.js');
/** The system interpreter, not a version-manager shim (a shim's command line is not the worker's). */
const PYTHON = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
/** `diagnose` exit codes for each verdict (README: 0 healthy, 1 stuck, 4 inconclusive). */
const EXIT_OF = { healthy: 0, stuck: 1, inconclusive: 4 } as const;
const READY_TIMEOUT_MS = 30_000;
const DIAGNOSE_TIMEOUT_MS = 90_000;

export interface LoadedCase {
  name: string;
  file: string;
  spec: CorpusCase;
}

/** Reads and validates every case; a bad one throws one line naming the file and field. */
export function loadCases(dir = CASES_DIR, only?: RegExp): LoadedCase[] {
  const out: LoadedCase[] = [];
  for (const f of fs.readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
    const name = f.replace(/\.json$/, '');
    if (only && !only.test(name)) continue;
    const file = path.join(dir, f);
    let raw: unknown;
    try {
      raw = JSON.parse(fs.readFileSync(file, 'utf8'));
    } catch (e) {
      throw new Error(`${path.relative(process.cwd(), file)}: not JSON (${(e as Error).message})`);
    }
    const parsed = CorpusCase.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`${path.relative(process.cwd(), file)}: ${issue.path.join('.') || '(case)'}: ${issue.message}`);
    }
    out.push({ name, file, spec: parsed.data });
  }
  return out;
}

/** What the diagnoser said, reduced to what the corpus judges. */
export interface Got {
  exitCode: number | null;
  verdict?: string;
  kind?: string;
  service?: string;
  remote?: string;
  path?: string;
  pid?: number;
  tid?: number;
  waiters?: number;
  /** The bin failed before a diagnosis (usage error, crash): its first stderr line. */
  error?: string;
}

export interface CaseResult {
  name: string;
  area: CorpusCase['area'];
  expectedVerdict: CorpusCase['expect']['verdict'];
  /** The expectation with placeholders expanded, in one line. */
  expected: string;
  got: Got;
  /** One line: what the diagnoser said. */
  gotText: string;
  right: boolean;
  /** Why it is wrong (empty when right). */
  mismatches: string[];
  /** The verdict was stuck and the culprit matched every expected field. */
  culpritRight: boolean;
  durationMs: number;
  /** The case could not be set up (a process never got ready): not a diagnosis result. */
  setupError?: string;
}

/** Cases under way: cleanupAll() ends them when the run is interrupted (Ctrl+C, a jest timeout). */
const active = new Set<CaseRun>();

/** Ends every case still running (its processes, netns, temp dir); safe to call twice. */
export function cleanupAll(): void {
  for (const run of active) run.cleanup();
}

class CaseRun {
  readonly children: Array<{ name: string; child: ChildProcess }> = [];
  readonly pids = new Map<string, number>();
  readonly marks = new Map<string, string[]>();
  readonly ports = new Map<string, number>();
  readonly tmp: string;
  netns?: { name: string; hostIf: string; hostIp: string; peerIp: string };

  constructor(readonly name: string) {
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), `fl-corpus-${name}-`));
    // The unprivileged cases run the bin as nobody: it must reach nothing here, but the case's
    // UNIX sockets live in this dir and are named in the diagnosis all the same.
    fs.chmodSync(this.tmp, 0o755);
    active.add(this);
  }

  async expand(s: string): Promise<string> {
    const parts: string[] = [];
    let last = 0;
    for (const m of s.matchAll(/\{([a-z_]+)(?::([a-z0-9-]+))?\}/g)) {
      parts.push(s.slice(last, m.index));
      parts.push(await this.value(m[1]!, m[2]));
      last = (m.index ?? 0) + m[0].length;
    }
    parts.push(s.slice(last));
    return parts.join('');
  }

  private async value(key: string, name?: string): Promise<string> {
    const need = (): string => {
      if (name === undefined) throw new Error(`{${key}} needs a name: {${key}:NAME}`);
      return name;
    };
    switch (key) {
      case 'python':
        return PYTHON;
      case 'programs':
        return PROGRAMS_DIR;
      case 'tmp':
        return this.tmp;
      case 'case':
        return `corpus-${this.name}`;
      case 'port': {
        const n = need();
        if (!this.ports.has(n)) this.ports.set(n, await freePort());
        return String(this.ports.get(n));
      }
      case 'pid': {
        const pid = this.pids.get(need());
        if (pid === undefined) throw new Error(`{pid:${name}}: no process ${name} started before`);
        return String(pid);
      }
      case 'tree': {
        const pid = this.pids.get(need());
        if (pid === undefined) throw new Error(`{tree:${name}}: no process ${name} started before`);
        return descendants(pid).join(',');
      }
      case 'mark':
      case 'marks': {
        const values = this.marks.get(need());
        if (!values?.length) throw new Error(`{${key}:${name}}: no process printed "mark ${name} …"`);
        return key === 'mark' ? values[0]! : values.join(',');
      }
      case 'host_ip':
      case 'peer_ip':
        if (!this.netns) throw new Error(`{${key}} needs "netns": true`);
        return key === 'host_ip' ? this.netns.hostIp : this.netns.peerIp;
      default:
        throw new Error(`unknown placeholder {${key}}`);
    }
  }

  createNetns(): void {
    // A /30 of our own inside 10.231.0.0/16, on a veth whose far end is in the namespace:
    // traffic to it never leaves this machine.
    const n = 1 + Math.floor(Math.random() * 16_000);
    const name = `flc-${this.name.slice(0, 20)}-${n}`;
    const hostIf = `flc${n}h`;
    const peerIf = `flc${n}p`;
    const hostIp = `10.231.${Math.floor(n / 64)}.${(n % 64) * 4 + 1}`;
    const peerIp = `10.231.${Math.floor(n / 64)}.${(n % 64) * 4 + 2}`;
    this.netns = { name, hostIf, hostIp, peerIp };
    const cmds = [
      ['ip', 'netns', 'add', name],
      ['ip', 'link', 'add', hostIf, 'type', 'veth', 'peer', 'name', peerIf],
      ['ip', 'link', 'set', peerIf, 'netns', name],
      ['ip', 'addr', 'add', `${hostIp}/30`, 'dev', hostIf],
      ['ip', 'link', 'set', hostIf, 'up'],
      ['ip', 'netns', 'exec', name, 'ip', 'addr', 'add', `${peerIp}/30`, 'dev', peerIf],
      ['ip', 'netns', 'exec', name, 'ip', 'link', 'set', peerIf, 'up'],
      ['ip', 'netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up'],
    ];
    for (const c of cmds) run(c);
  }

  async step(step: Step): Promise<void> {
    if ('start' in step) {
      let argv = await Promise.all(step.argv.map((a) => this.expand(a)));
      if (step.netns) argv = ['ip', 'netns', 'exec', this.requireNetns(), ...argv];
      await this.start(step.start, argv, step.ready === undefined ? 'ready' : step.ready);
      if (step.settleMs) await sleep(step.settleMs);
    } else if ('exec' in step) {
      let argv = await Promise.all(step.exec.map((a) => this.expand(a)));
      if (step.netns) argv = ['ip', 'netns', 'exec', this.requireNetns(), ...argv];
      run(argv);
    } else if ('signal' in step) {
      const pid = this.pids.get(step.to);
      if (pid === undefined) throw new Error(`signal: no process ${step.to}`);
      process.kill(pid, step.signal);
    } else {
      await sleep(step.sleepMs);
    }
  }

  private requireNetns(): string {
    if (!this.netns) throw new Error('a step runs in the netns but the case has no "netns": true');
    return this.netns.name;
  }

  private start(name: string, argv: string[], ready: string | null): Promise<void> {
    const child = spawn(argv[0]!, argv.slice(1), { cwd: this.tmp, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.children.push({ name, child });
    let stderr = '';
    child.stderr!.on('data', (c) => (stderr = (stderr + c).slice(-2000)));
    return new Promise((resolve, reject) => {
      let buffered = '';
      let done = false;
      const finish = (err?: Error) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      };
      const timer =
        ready === null
          ? undefined
          : setTimeout(
              () => finish(new Error(`${name} (${argv.join(' ')}) did not print "${ready}" within ${READY_TIMEOUT_MS} ms; stderr: ${stderr.trim().split('\n').pop() ?? ''}`)),
              READY_TIMEOUT_MS,
            );
      child.stdout!.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop() ?? '';
        for (const line of lines) {
          const mark = /^mark ([a-z-]+) (\S+)$/.exec(line);
          if (mark) this.marks.set(mark[1]!, [...(this.marks.get(mark[1]!) ?? []), mark[2]!]);
          if (ready !== null && line.includes(ready)) finish();
        }
      });
      child.on('error', (e) => finish(new Error(`${name}: ${e.message}`)));
      child.on('exit', (code, signal) => finish(new Error(`${name} (${argv.join(' ')}) exited early (${code ?? signal}); stderr: ${stderr.trim().split('\n').pop() ?? ''}`)));
      if (child.pid !== undefined) this.pids.set(name, child.pid);
      if (ready === null) finish();
    });
  }

  /** Kills every process group, removes the netns and the temp dir; never throws. */
  cleanup(): void {
    if (!active.delete(this)) return;
    for (const { child } of this.children) {
      if (child.pid === undefined) continue;
      try {
        process.kill(-child.pid, 'SIGKILL'); // stopped processes die of SIGKILL too
      } catch {
        /* already gone */
      }
    }
    if (this.netns) {
      // Processes inside it were killed above; deleting the namespace removes the veth pair.
      spawnSync('ip', ['netns', 'del', this.netns.name]);
      spawnSync('ip', ['link', 'del', this.netns.hostIf]);
    }
    fs.rmSync(this.tmp, { recursive: true, force: true });
  }
}

function run(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 20_000 });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed (${r.status ?? r.signal}): ${(r.stderr || r.error?.message || '').trim()}`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

/** pid and every process below it (a pre-fork master and its workers). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* exited while listed */
    }
  }
  const out: number[] = [];
  const queue = [root];
  while (queue.length) {
    const pid = queue.shift()!;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out;
}

function runBin(args: string[], asUser?: 'nobody'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const argv = asUser ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', '--', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  // nobody's HOME does not exist; tsx keeps its cache under the temp dir per uid.
  const env = asUser ? { ...process.env, HOME: os.tmpdir() } : process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0]!, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), DIAGNOSE_TIMEOUT_MS);
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function parseGot(r: { code: number | null; stdout: string; stderr: string }): Got {
  let d: Record<string, any>;
  try {
    d = JSON.parse(r.stdout);
  } catch {
    return { exitCode: r.code, error: (r.stderr.trim().split('\n')[0] ?? '').slice(0, 200) || `no JSON on stdout (exit ${r.code})` };
  }
  const c = d.culprit;
  return {
    exitCode: r.code,
    verdict: d.verdict,
    kind: c?.kind,
    service: c?.resource?.service,
    remote: c?.resource?.remote,
    path: c?.resource?.path,
    pid: c?.pid,
    tid: c?.tid,
    waiters: Array.isArray(c?.waiters) ? c.waiters.length : undefined,
  };
}

export function describeGot(g: Got): string {
  if (g.error !== undefined) return `error exit ${g.exitCode}: ${g.error}`;
  const parts = [`${g.verdict} (exit ${g.exitCode})`];
  if (g.verdict === 'stuck') {
    parts.push(`kind ${g.kind}`, `service ${g.service ?? '-'}`);
    if (g.path) parts.push(`path ${g.path}`);
    if (g.remote) parts.push(`remote ${g.remote}`);
    parts.push(`pid ${g.pid}${g.tid !== undefined && g.tid !== g.pid ? ` tid ${g.tid}` : ''}`, `waiters ${g.waiters ?? '-'}`);
  }
  return parts.join(', ');
}

const numbers = (s: string) => s.split(',').filter(Boolean).map(Number);

/** Expands the expectation's placeholders (marks and pids are known once the case has run). */
async function expandCulprit(runState: CaseRun, c: CulpritExpectation): Promise<Record<string, string | number>> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(c)) out[k] = typeof v === 'string' ? await runState.expand(v) : (v as number);
  return out;
}

export function judge(spec: CorpusCase, culprit: Record<string, string | number> | undefined, got: Got): string[] {
  const m: string[] = [];
  if (got.error !== undefined) return [`the bin gave no diagnosis: ${got.error}`];
  const want = spec.expect.verdict;
  if (got.verdict !== want) m.push(`verdict ${got.verdict}, expected ${want}`);
  if (got.exitCode !== EXIT_OF[want] && got.verdict === want) m.push(`exit ${got.exitCode} for ${want}, expected ${EXIT_OF[want]}`);
  if (want !== 'stuck' || got.verdict !== 'stuck' || !culprit) return m;
  if (culprit.kind !== undefined && got.kind !== culprit.kind) m.push(`kind ${got.kind}, expected ${culprit.kind}`);
  if (culprit.service !== undefined && got.service !== culprit.service) m.push(`service ${got.service ?? '-'}, expected ${culprit.service}`);
  if (culprit.path !== undefined && !(got.path ?? '').includes(String(culprit.path))) m.push(`path ${got.path ?? '-'}, expected …${culprit.path}…`);
  if (culprit.pid !== undefined && got.pid !== Number(culprit.pid)) m.push(`pid ${got.pid}, expected ${culprit.pid}`);
  if (culprit.pidIn !== undefined && !numbers(String(culprit.pidIn)).includes(got.pid ?? -1)) m.push(`pid ${got.pid}, expected one of ${culprit.pidIn}`);
  if (culprit.tidIn !== undefined && !numbers(String(culprit.tidIn)).includes(got.tid ?? -1)) m.push(`tid ${got.tid}, expected one of ${culprit.tidIn}`);
  if (culprit.waiters !== undefined && got.waiters !== culprit.waiters) m.push(`waiters ${got.waiters ?? '-'}, expected ${culprit.waiters}`);
  if (culprit.minWaiters !== undefined && (got.waiters ?? 0) < Number(culprit.minWaiters)) m.push(`waiters ${got.waiters ?? '-'}, expected at least ${culprit.minWaiters}`);
  return m;
}

function describeExpected(spec: CorpusCase, culprit?: Record<string, string | number>): string {
  if (!culprit) return spec.expect.verdict;
  const parts = Object.entries(culprit).map(([k, v]) => `${k} ${v}`);
  return `${spec.expect.verdict}, ${parts.join(', ')}`;
}

/** The flags a diagnoser older than this corpus may lack (see `legacy`). */
export const LEGACY_FLAGS = ['service', 'stuck-after'] as const;
export type LegacyFlag = (typeof LEGACY_FLAGS)[number];

/**
 * Legacy mode measures a diagnoser older than `--service` and/or `--stuck-after` (today's main,
 * or a branch with one of them): the flags named are left out, and without --service a culprit
 * whose remote is the address a --service flag named counts as that service. Only for comparing
 * against the past; the corpus itself always passes them.
 */
function legacyArgs(args: string[], drop: ReadonlySet<LegacyFlag>): { args: string[]; services: Map<string, string> } {
  const out: string[] = [];
  const services = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!.replace(/^--/, '') as LegacyFlag;
    if (args[i]!.startsWith('--') && drop.has(flag)) {
      if (flag === 'service') {
        const [name, addr] = (args[i + 1] ?? '').split('=');
        if (name && addr) services.set(addr, name);
      }
      i++;
    } else out.push(args[i]!);
  }
  return { args: out, services };
}

export async function runCase(c: LoadedCase, opts: { legacy?: ReadonlySet<LegacyFlag> } = {}): Promise<CaseResult> {
  const started = Date.now();
  const state = new CaseRun(c.name);
  const base = { name: c.name, area: c.spec.area, expectedVerdict: c.spec.expect.verdict };
  try {
    if (c.spec.netns) state.createNetns();
    for (const step of c.spec.steps) await state.step(step);
    await sleep(c.spec.diagnoseAfterMs);
    let args = await Promise.all(c.spec.args.map((a) => state.expand(a)));
    const legacy = opts.legacy?.size ? legacyArgs(args, opts.legacy) : undefined;
    if (legacy) args = legacy.args;
    const r = await runBin(['diagnose', ...args, '--json'], c.spec.asUser);
    const got = parseGot(r);
    if (legacy && got.service === undefined && got.remote !== undefined) {
      // An IPv4-mapped IPv6 peer (a Java socket) is the IPv4 address the --service flag named.
      got.service = legacy.services.get(got.remote.replace(/^\[::ffff:([0-9.]+)\]/, '$1'));
    }
    const culprit = c.spec.expect.culprit ? await expandCulprit(state, c.spec.expect.culprit) : undefined;
    const mismatches = judge(c.spec, culprit, got);
    const verdictOnly = judge({ ...c.spec, expect: { verdict: c.spec.expect.verdict } }, undefined, got);
    return {
      ...base,
      expected: describeExpected(c.spec, culprit),
      got,
      gotText: describeGot(got),
      right: mismatches.length === 0,
      mismatches,
      culpritRight: c.spec.expect.verdict === 'stuck' && mismatches.length === 0 && verdictOnly.length === 0,
      durationMs: Date.now() - started,
    };
  } catch (e) {
    const msg = (e as Error).message;
    return {
      ...base,
      expected: describeExpected(c.spec),
      got: { exitCode: null, error: `setup: ${msg}` },
      gotText: `setup failed: ${msg}`,
      right: false,
      mismatches: [`setup failed: ${msg}`],
      culpritRight: false,
      durationMs: Date.now() - started,
      setupError: msg,
    };
  } finally {
    state.cleanup();
  }
}

/**
 * Runs cases `concurrency` at a time (each diagnoses only its own pids, so they do not see each
 * other); an exclusive case runs alone. Results come back in case order.
 */
export async function runCorpus(cases: LoadedCase[], opts: { concurrency?: number; legacy?: ReadonlySet<LegacyFlag>; onResult?: (r: CaseResult) => void } = {}): Promise<CaseResult[]> {
  const concurrency = opts.concurrency ?? 3;
  const results = new Map<string, CaseResult>();
  const shared = cases.filter((c) => !c.spec.exclusive);
  const alone = cases.filter((c) => c.spec.exclusive);
  let next = 0;
  const worker = async () => {
    while (next < shared.length) {
      const c = shared[next++]!;
      const r = await runCase(c, { legacy: opts.legacy });
      results.set(c.name, r);
      opts.onResult?.(r);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, shared.length) }, worker));
  for (const c of alone) {
    const r = await runCase(c, { legacy: opts.legacy });
    results.set(c.name, r);
    opts.onResult?.(r);
  }
  return cases.map((c) => results.get(c.name)!);
}

export interface CorpusSummary {
  cases: number;
  precision: number;
  recall: number;
  culpritRight: number;
  stuckExpected: number;
  inconclusive: number;
  right: number;
}

/**
 * Precision and recall over "stuck" claims: a positive is a case whose expected verdict is stuck;
 * a claim is a diagnosis whose verdict is stuck. precision = claims on positives / all claims
 * (1 when nothing was claimed), recall = claims on positives / positives. A claim counts for both
 * whatever culprit it named; "culprit right" counts the positives whose culprit matched every
 * expected field. inconclusive = diagnoses whose verdict was inconclusive.
 */
export function summarize(results: CaseResult[]): CorpusSummary {
  const positives = results.filter((r) => r.expectedVerdict === 'stuck');
  const claims = results.filter((r) => r.got.verdict === 'stuck');
  const truePositives = claims.filter((r) => r.expectedVerdict === 'stuck');
  return {
    cases: results.length,
    precision: claims.length === 0 ? 1 : truePositives.length / claims.length,
    recall: positives.length === 0 ? 1 : truePositives.length / positives.length,
    culpritRight: results.filter((r) => r.culpritRight).length,
    stuckExpected: positives.length,
    inconclusive: results.filter((r) => r.got.verdict === 'inconclusive').length,
    right: results.filter((r) => r.right).length,
  };
}

export function summaryLine(s: CorpusSummary): string {
  return `corpus: ${s.cases} cases, precision ${s.precision.toFixed(2)}, recall ${s.recall.toFixed(2)}, culprit right ${s.culpritRight}/${s.stuckExpected}, inconclusive ${s.inconclusive}`;
}

export function wrongLine(r: CaseResult): string {
  return `WRONG ${r.name}: expected ${r.expected}; got ${r.gotText}${r.mismatches.length ? ` [${r.mismatches.join('; ')}]` : ''}`;
}
