/**
 * The catalogue of subcommands: the top-level help, the dispatch in main.ts and the tests' lists
 * of commands all come from here. Adding a command is its module (one file exporting its `run`
 * and its help) plus one entry below, in the order the help lists it.
 */
import { CLEAN_HELP, cleanCommand } from './clean';
import { DIAGNOSE_USAGE, diagnoseCommand } from './diagnose';
import { DOCTOR_HELP, doctorCommand } from './doctor';
import { IMAGES_HELP, imagesCommand } from './images';
import type { Command } from './io';
import { LIST_HELP, listCommand } from './list';
import { REPORT_HELP, reportCommand } from './report';
import { RUN_HELP, runCommand } from './run';
import { SCENARIO_USAGE, scenarioCommand } from './scenario';
import { SWEEP_HELP, sweepCommand } from './sweep';
import { WATCH_USAGE, watchCommand } from './watch';

export interface CommandSpec {
  name: string;
  /** How the top-level help shows the command: its name and main arguments. */
  synopsis: string;
  /** What it does, one line, then its flags as the top-level help lists them (lines). */
  summary: readonly string[];
  /** `faultline NAME --help`. */
  help: string;
  run: Command;
}

export const COMMANDS: readonly CommandSpec[] = [
  {
    name: 'run',
    synopsis: 'run [scenario...]',
    summary: [
      'run scenarios (all when none is named) on a real topology',
      '--variant incident|fixed|both (default both)  --parallel N',
      '--json  --junit FILE  --report DIR  --set knob=value',
      '--shard i/n  --list (the runs of a shard, nothing run)',
      '--full-windows (every observe window to its maximum)',
    ],
    help: RUN_HELP,
    run: runCommand,
  },
  {
    name: 'report',
    synopsis: 'report RESULT.json --out DIR',
    summary: ['render the HTML report of a saved "run --json" output'],
    help: REPORT_HELP,
    run: reportCommand,
  },
  {
    name: 'sweep',
    synopsis: 'sweep <scenario>',
    summary: [
      'validate timeouts: run a scenario over knob values, find where the',
      'verdict changes, compare with a queueing model',
      '--knobs | --vary knob=v1,v2 [--vary ...] [--set knob=v] [--repeat K]',
      '[--parallel N] [--json] [--report DIR] [--yes]',
    ],
    help: SWEEP_HELP,
    run: sweepCommand,
  },
  {
    name: 'list',
    synopsis: 'list',
    summary: ['the bundled scenarios, their variants and what each shows'],
    help: LIST_HELP,
    run: listCommand,
  },
  {
    name: 'diagnose',
    synopsis: 'diagnose',
    summary: [
      'name the culprit of a hung worker pool from /proc',
      '(--match REGEX | --pid N[,N...] | --container NAME) [--json]',
      '[--samples N] [--interval MS] [--stuck-after DURATION]',
      '[--service NAME=HOST:PORT]... [--services FILE] [--emit-scenario FILE.ts]',
    ],
    help: DIAGNOSE_USAGE,
    run: diagnoseCommand,
  },
  {
    name: 'watch',
    synopsis: 'watch',
    summary: [
      'watch a pool: Prometheus metrics, an incident snapshot and --on-stuck',
      'when it hangs, a log line when it recovers',
      '(--match REGEX | --pid N[,N...] | --container NAME) [--interval S]',
      '[--listen HOST:PORT] [--out DIR] [--on-stuck PROGRAM] [--stuck-for N]',
      '[--services FILE] [--once]',
    ],
    help: WATCH_USAGE,
    run: watchCommand,
  },
  {
    name: 'scenario',
    synopsis: 'scenario from SNAPSHOT.json --out FILE.ts',
    summary: ['write a scenario reproducing an incident snapshot (incident + fixed)'],
    help: SCENARIO_USAGE,
    run: scenarioCommand,
  },
  {
    name: 'images',
    synopsis: 'images [build]',
    summary: ["list faultline's images (tag, source, size); build builds missing ones"],
    help: IMAGES_HELP,
    run: imagesCommand,
  },
  {
    name: 'doctor',
    synopsis: 'doctor',
    summary: ['check what a run needs and say how to fix what is missing'],
    help: DOCTOR_HELP,
    run: doctorCommand,
  },
  {
    name: 'clean',
    synopsis: 'clean [--all]',
    summary: ['remove containers/networks left by dead runs (--all: every faultline resource)'],
    help: CLEAN_HELP,
    run: cleanCommand,
  },
];

export function commandNamed(name: string): CommandSpec | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** The synopsis column of the top-level help; a longer synopsis gets a line of its own. */
const SYNOPSIS_WIDTH = 22;

/** The "Commands:" block of `faultline --help`, one entry per command of the catalogue. */
export function commandsHelp(commands: readonly CommandSpec[] = COMMANDS): string {
  const indent = ' '.repeat(2 + SYNOPSIS_WIDTH);
  return commands
    .flatMap((c) => {
      const [first, ...rest] = c.summary;
      const head = c.synopsis.length < SYNOPSIS_WIDTH ? [`  ${c.synopsis.padEnd(SYNOPSIS_WIDTH)}${first}`] : [`  ${c.synopsis}`, `${indent}${first}`];
      return [...head, ...rest.map((line) => `${indent}${line}`)];
    })
    .join('\n');
}
