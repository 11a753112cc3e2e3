/**
 * `faultline watch (--match REGEX | --pid N,... | --container NAME) [--interval S] [--listen HOST:PORT]
 *   [--out DIR] [--keep N] [--on-stuck PROGRAM] [--stuck-for N] [--services FILE] [--once [--json]]`
 *
 * Long-running: exits 130 on SIGTERM / Ctrl+C after removing its sidecar. --once: one sample,
 * exit codes as diagnose (0 healthy, 1 stuck, 4 inconclusive, 2 bad input, 3 environment).
 */
import { FaultlineError, UsageError } from '../errors';
import { renderJson, renderText } from '../diagnose';
import { checkInputs, containerSource, listenMetrics, localSource, parseWatchArgs, Watcher, WatchMetrics, DEFAULT_INTERVAL_S, DEFAULT_KEEP, DEFAULT_LISTEN, DEFAULT_OUT, DEFAULT_STUCK_FOR } from '../watch';
import { wallClockMs } from '../util/time';
import type { Command } from './io';

/** The shared contract's exit code for an inconclusive diagnosis (EXIT.inconclusive in wt-diag-core). */
const EXIT_INCONCLUSIVE = 4;

export const WATCH_USAGE = `usage: faultline watch (--match REGEX | --pid N[,N...] | --container NAME) [--interval S]
       [--listen HOST:PORT] [--out DIR] [--keep N] [--on-stuck PROGRAM] [--stuck-for N]
       [--services FILE] [--once [--json]]

Watches a worker pool and names the culprit the moment it hangs: reads /proc every interval
and diagnoses each reading against the previous one, serves Prometheus metrics, and after --stuck-for
consecutive stuck samples writes an incident snapshot and runs --on-stuck.

  --match REGEX        processes whose full command line matches (never faultline itself)
  --pid N[,N...]       these processes (plus every process lock-connected to them)
  --container NAME     a container, read through a toolbox sidecar (SYS_PTRACE, labelled
                       dev.faultline.run); a new sidecar follows the container across restarts
  --interval S         seconds between samples (default ${DEFAULT_INTERVAL_S}; 0.5 to 3600)
  --listen HOST:PORT   where GET /metrics is served (default ${DEFAULT_LISTEN})
  --out DIR            incident snapshots: incident-TIME.json (diagnosis, raw evidence, time,
                       host, target) and incident-TIME.txt (default ./${DEFAULT_OUT})
  --keep N             snapshots kept, the oldest removed first (default ${DEFAULT_KEEP})
  --on-stuck PROGRAM   run as PROGRAM SNAPSHOT.json (argv, no shell) when an incident opens
  --stuck-for N        consecutive stuck samples that open an incident (default ${DEFAULT_STUCK_FOR}); an
                       inconclusive or failed sample breaks the streak: it never pages
  --services FILE      JSON { "NAME": "HOST:PORT" | ["HOST:PORT", ...] }: upstreams by name
  --once               one sample, printed; exit codes as diagnose
  --json               with --once: print the diagnosis as JSON

Logs one line per state change on stderr: stuck (with how long and the snapshot), recovered
(with how long), target unavailable, sampling again.

FAULTLINE_TOOLBOX_IMAGE=IMAGE names the sidecar's image for --container (by default faultline
finds or builds its toolbox; the single-file faultline-diagnose cannot build it).

Exit code: 130 when stopped (SIGTERM, Ctrl+C); --once: 0 healthy, 1 stuck, ${EXIT_INCONCLUSIVE} inconclusive;
2 bad input (nothing started), 3 environment (no engine, no such container).
`;

export const watchCommand: Command = async (args, io) => {
  const opts = parseWatchArgs(args);
  if (opts.help) {
    io.stdout.write(WATCH_USAGE);
    return 0;
  }
  if (opts.json && !opts.once) throw new UsageError('watch: --json only applies to --once (the long-running watcher serves metrics and writes JSON snapshots)');
  const inputs = checkInputs(opts, io.env);
  const log = (line: string) => io.stderr.write(`${new Date(wallClockMs()).toISOString()} watch: ${line}\n`);
  const metrics = new WatchMetrics();
  // Bound before any engine work: a taken port is bad input, and nothing was started.
  const server = opts.once ? undefined : await listenMetrics(metrics, opts.listen);
  const source = opts.target.container ? containerSource(opts.target.container, { image: io.env.FAULTLINE_TOOLBOX_IMAGE || undefined }) : localSource();
  try {
    const watcher = new Watcher({
      target: opts.target,
      source,
      intervalMs: opts.intervalMs,
      stuckFor: opts.once ? 1 : opts.stuckFor,
      out: inputs.out,
      keep: opts.keep,
      onStuck: inputs.onStuck,
      registry: inputs.registry,
      metrics,
      log,
      signal: io.signal,
    });
    if (opts.once) {
      const r = await watcher.sample();
      if (r.verdict === 'unavailable') throw new FaultlineError('FAULTLINE_ENVIRONMENT', `watch: cannot sample: ${r.error}`);
      const d = r.diagnosis!;
      if (d.processes.length === 0 && !opts.target.container) {
        throw new UsageError(opts.target.match ? `watch: --match ${String(opts.target.match)} matches no process; check it against \`ps -eo args\`` : `watch: --pid ${opts.target.pids?.join(',')}: no such process`);
      }
      io.stdout.write(opts.json ? renderJson(d) : renderText(d));
      await watcher.settle();
      return r.verdict === 'stuck' ? 1 : r.verdict === 'healthy' ? 0 : EXIT_INCONCLUSIVE;
    }
    const what = opts.target.container ? `container ${opts.target.container}` : opts.target.match ? `--match ${String(opts.target.match)}` : `--pid ${opts.target.pids?.join(',')}`;
    log(
      `watching ${what} every ${opts.intervalMs / 1000} s (an incident after ${opts.stuckFor} stuck samples); metrics on http://${server!.address}/metrics; snapshots in ${inputs.out}` +
        (inputs.onStuck ? `; on stuck: ${inputs.onStuck} SNAPSHOT.json` : ''),
    );
    await watcher.run();
    log(`stopped${watcher.openIncident ? ` with an incident open (${watcher.openIncident})` : ''}`);
    return 0;
  } finally {
    await source.stop();
    await server?.close();
  }
};
