/**
 * Benchmark (not a test): the time bounds the unit tests used to assert on a shared machine,
 * measured here instead and printed, so a slow machine cannot fail a behaviour test and a slow
 * path is still seen.
 *
 *   npm run bench:bounds
 *
 * - `faultline run` against a DOCKER_HOST that accepts and never answers: seconds to its one-line
 *   exit 2 (the README promises within 10 s; the engine check gives up after 5 s);
 * - every /proc parser on pathological text (runs of spaces, parentheses, digits, lock arrows)
 *   of 256 KB and 2 MB: ms, and the growth between them (linear is ~8x; quadratic ~64x);
 * - diagnose() of every recorded fixture (two samples, no interval): ms.
 * Exits 1 when a bound is exceeded (10 s; growth over 24x; 1000 ms per diagnosis).
 */
import { readdirSync, existsSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { diagnose, FixtureProcReader } from '../harness/diagnose';
import * as parse from '../harness/diagnose/parse';
import { runCli } from '../test/helpers/cli';

const SILENT_ENGINE_BOUND_S = 10;
const MAX_GROWTH = 24;
const DIAGNOSE_BOUND_MS = 1000;

const PARSERS: Record<string, (text: string) => unknown> = {
  parseStat: parse.parseStat,
  parseStatus: parse.parseStatus,
  parseSyscallLine: parse.parseSyscallLine,
  parseIo: parse.parseIo,
  parseSchedExecStart: parse.parseSchedExecStart,
  parseUptimeSeconds: parse.parseUptimeSeconds,
  parseLockLine: parse.parseLockLine,
  parseLocks: parse.parseLocks,
  parseFdinfo: parse.parseFdinfo,
  'parseNetTcp(4)': (t) => parse.parseNetTcp(t, 4),
  parseCmdline: parse.parseCmdline,
};
const PADS = [' ', '(', '9', ' (', '1: -> FLOCK ', '\n'];

function bestMs(f: () => unknown): number {
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

async function silentEngineSeconds(): Promise<number> {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  const t0 = performance.now();
  const r = await runCli(['run', 'lost-fin', '--variant', 'fixed'], { env: { ...process.env, DOCKER_HOST: `tcp://127.0.0.1:${port}`, DOCKER_TLS_VERIFY: '', DOCKER_CERT_PATH: '' } });
  const s = (performance.now() - t0) / 1000;
  for (const sock of sockets) sock.destroy();
  server.close();
  if (r.code !== 2) throw new Error(`expected exit 2, got ${r.code}: ${r.stderr.trim()}`);
  return s;
}

async function main(): Promise<number> {
  let failed = 0;
  const silent = await silentEngineSeconds();
  console.log(`silent DOCKER_HOST: exit 2 after ${silent.toFixed(1)} s (bound ${SILENT_ENGINE_BOUND_S} s)`);
  if (silent > SILENT_ENGINE_BOUND_S) failed++;

  for (const [name, f] of Object.entries(PARSERS)) {
    let worst = { pad: '', ms2048: 0, growth: 0 };
    for (const pad of PADS) {
      const text = (kb: number) => pad.repeat(Math.ceil((kb * 1024) / pad.length));
      const small = bestMs(() => f(text(256)));
      const large = bestMs(() => f(text(2048)));
      // Below a few milliseconds the ratio is noise (GC, caches): count it as linear.
      const growth = large < 5 ? 8 : large / Math.max(small, 0.05);
      if (growth > worst.growth) worst = { pad, ms2048: large, growth };
    }
    const over = worst.growth > MAX_GROWTH;
    if (over) failed++;
    console.log(`${name.padEnd(20)} 2 MB in ${worst.ms2048.toFixed(2)} ms, growth 256 KB->2 MB ${worst.growth.toFixed(1)}x (worst pad ${JSON.stringify(worst.pad)})${over ? '  OVER' : ''}`);
  }

  const fixtures = join(__dirname, '..', 'test', 'unit', 'diagnose', 'fixtures');
  for (const name of readdirSync(fixtures).filter((n) => existsSync(join(fixtures, n, 's1')))) {
    const t0 = performance.now();
    await diagnose({ reader: new FixtureProcReader([join(fixtures, name, 's0'), join(fixtures, name, 's1')]), intervalMs: 0 });
    const ms = performance.now() - t0;
    const over = ms > DIAGNOSE_BOUND_MS;
    if (over) failed++;
    console.log(`diagnose ${name.padEnd(30)} ${ms.toFixed(1)} ms${over ? '  OVER' : ''}`);
  }
  console.log(failed ? `bounds: ${failed} exceeded` : 'bounds: all within');
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(`bench:bounds failed: ${(e as Error).message}`);
    process.exit(1);
  },
);
