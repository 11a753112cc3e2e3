/**
 * Benchmark (not a test): how often the diagnoser is right on the diagnosis corpus
 * (test/corpus/cases/*.json: live cases on real processes on this machine, each diagnosed through
 * the bin, `node bin/faultline.js diagnose … --json`, in a child process). Prints one line per
 * wrong case (expected vs got), then as its last line:
 *
 *   corpus: <N> cases, precision <P>, recall <R>, culprit right <C>/<S>, inconclusive <I>
 *
 * Precision and recall are over "stuck" claims. A positive is a case whose expected verdict is
 * `stuck`; a claim is a diagnosis whose verdict is `stuck`. precision = claims that were on
 * positives / all claims (1.00 when nothing was claimed): a false alarm lowers it. recall = claims
 * on positives / positives: a false all-clear (or an inconclusive) on a stuck case lowers it. Both
 * count a claim whatever culprit it named; `culprit right C/S` is how many of the S positives
 * named the expected culprit (every field the case gives: kind, service or path, pid or thread,
 * waiters). `inconclusive I` counts diagnoses whose verdict was inconclusive, expected or not.
 *
 * Flags: --only REGEX (case names), --concurrency N (default 3; cases diagnose only their own
 * processes, so they run side by side; exclusive ones run alone), --all (print every case, right
 * ones too), --legacy [FLAGS] (measure a diagnoser older than --service and/or --stuck-after:
 * FLAGS, default "service,stuck-after", are left out of every case's args, and without --service a
 * culprit's remote address counts as the service it was named for). Needs root (network namespaces, setpriv) and python3, node, perl, php8.2,
 * redis-server, java on PATH (scripts/ensure-host-tools.sh).
 */
import { LEGACY_FLAGS, cleanupAll, loadCases, type LegacyFlag, runCorpus, summarize, summaryLine, wrongLine, type CaseResult } from '../test/corpus/runner';

function flag(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  if (i < 0) return undefined;
  const v = process.argv[i + 1];
  if (v === undefined || v.startsWith('--')) {
    process.stderr.write(`bench:corpus: ${name} needs a value\n`);
    process.exit(2);
  }
  return v;
}

async function main(): Promise<void> {
  const only = flag('--only');
  const concurrencyRaw = flag('--concurrency') ?? '3';
  if (!/^[1-9][0-9]?$/.test(concurrencyRaw)) {
    process.stderr.write(`bench:corpus: --concurrency "${concurrencyRaw}" must be a whole number from 1 to 99\n`);
    process.exit(2);
  }
  const all = process.argv.includes('--all');
  let cases;
  try {
    cases = loadCases(undefined, only ? new RegExp(only) : undefined);
  } catch (e) {
    process.stderr.write(`bench:corpus: ${(e as Error).message}\n`);
    process.exit(2);
  }
  if (cases.length === 0) {
    process.stderr.write(`bench:corpus: no case matches --only ${only}\n`);
    process.exit(2);
  }
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      cleanupAll();
      process.exit(130);
    });
  }
  const started = Date.now();
  const print = (r: CaseResult) => {
    if (!r.right) process.stdout.write(`${wrongLine(r)}\n`);
    else if (all) process.stdout.write(`right ${r.name}: ${r.gotText} (${r.durationMs} ms)\n`);
  };
  let legacy: Set<LegacyFlag> | undefined;
  const li = process.argv.indexOf('--legacy');
  if (li >= 0) {
    const next = process.argv[li + 1];
    const names = next && !next.startsWith('--') ? next.split(',') : [...LEGACY_FLAGS];
    const bad = names.find((n) => !(LEGACY_FLAGS as readonly string[]).includes(n));
    if (bad !== undefined) {
      process.stderr.write(`bench:corpus: --legacy "${bad}" is not a flag it can leave out: give ${LEGACY_FLAGS.join(', ')} (comma-separated)\n`);
      process.exit(2);
    }
    legacy = new Set(names as LegacyFlag[]);
  }
  const results = await runCorpus(cases, { concurrency: Number(concurrencyRaw), legacy, onResult: print });
  const s = summarize(results);
  process.stdout.write(`(${s.right}/${s.cases} right in ${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  process.stdout.write(`${summaryLine(s)}\n`);
}

void main();
