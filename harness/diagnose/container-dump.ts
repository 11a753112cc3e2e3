/** Parses what the collector script (container-script.ts) printed into the files it read. */
import type { FdLink } from './procfs';
import { normalizeArch, type Arch } from './syscalls';

export interface Dump {
  arch: Arch;
  archName: string;
  /** `ss -tinHe` output, or why there is none. */
  ss: { text: string } | { missing: string };
  self: number;
  pids: number[];
  files: Map<string, string>;
  links: Map<string, string>;
  fdsByPid: Map<number, FdLink[]>;
  /** Threads listed for a multi-threaded process (from its task/TID/stat files). */
  tidsByPid: Map<number, number[]>;
  nets: Map<string, string>; // `self/net/tcp` or `PID/net/tcp` -> text
  mems: Array<{ pid: number; address: bigint; bytes: Buffer }>;
  /** Per CPU, what the clock probe printed there (cpu-clock.ts parseProbe). */
  clock: Map<number, string>;
  errors: Map<string, string>;
  complete: boolean;
}

const ERRNO: Array<[RegExp, string]> = [
  [/Permission denied/i, 'EACCES'],
  [/Operation not permitted/i, 'EPERM'],
  [/No such file or directory/i, 'ENOENT'],
  [/No such process/i, 'ESRCH'],
  [/Input\/output error/i, 'EIO'],
];

/** Parse the script's output. Tolerates truncation: whatever sections arrived are used. */
export function parseDump(stdout: string): Dump {
  const dump: Dump = {
    arch: 'unknown',
    archName: '',
    ss: { missing: 'the collector script did not reach ss' },
    self: -1,
    pids: [],
    files: new Map(),
    links: new Map(),
    fdsByPid: new Map(),
    tidsByPid: new Map(),
    nets: new Map(),
    mems: [],
    clock: new Map(),
    errors: new Map(),
    complete: false,
  };
  const fileLines = new Map<string, string[]>();
  const addLine = (target: Map<string, string[]>, path: string, content: string): void => {
    const lines = target.get(path);
    if (lines) lines.push(content);
    else target.set(path, [content]);
  };
  const netLines = new Map<string, string[]>();
  let section = '';
  let ssLines: string[] | undefined;
  let clockLines: string[] | undefined;
  let clockCpu = -1;
  let mem: { pid: number; address: bigint; hex: string[] } | undefined;
  const flushMem = (): void => {
    if (mem) {
      const bytes = Buffer.from(mem.hex.join('').replace(/[^0-9a-fA-F]/g, ''), 'hex');
      if (bytes.length > 0) dump.mems.push({ pid: mem.pid, address: mem.address, bytes });
      mem = undefined;
    }
  };
  for (const line of stdout.split('\n')) {
    if (line.startsWith('@@')) {
      flushMem();
      const [tag, ...rest] = line.slice(2).split(' ');
      section = tag ?? '';
      if (tag === 'arch') {
        dump.archName = rest.join(' ').trim();
        dump.arch = normalizeArch(dump.archName) ?? 'unknown';
      } else if (tag === 'ss') ssLines = [];
      else if (tag === 'ss-missing') dump.ss = { missing: 'ss (iproute2) is not installed in the sidecar' };
      else if (tag === 'ss-failed') dump.ss = { missing: `ss -tinHe failed in the sidecar (exit ${rest[0] ?? '?'})` };
      else if (tag === 'clock' && /^[0-9]+$/.test(rest[0] ?? '')) {
        clockLines = [];
        dump.clock.set(Number(rest[0]), '');
        clockCpu = Number(rest[0]);
      } else if (tag === 'self') dump.self = Number(rest[0]);
      else if (tag === 'pids') dump.pids = rest.filter((w) => /^[0-9]+$/.test(w)).map(Number);
      else if (tag === 'mem') {
        try {
          mem = { pid: Number(rest[0]), address: BigInt(rest[1] ?? 'x'), hex: [] };
        } catch {
          mem = undefined;
        }
      } else if (tag === 'end') dump.complete = true;
      continue;
    }
    switch (section) {
      case 'grep': {
        const c = line.indexOf(':');
        if (c > 0) addLine(fileLines, line.slice(0, c), line.slice(c + 1));
        break;
      }
      case 'links': {
        const tab = line.indexOf('\t');
        if (tab > 0) dump.links.set(line.slice(0, tab), line.slice(tab + 1));
        break;
      }
      case 'net': {
        const c = line.indexOf(':');
        if (c > 0) addLine(netLines, line.slice(0, c), line.slice(c + 1));
        break;
      }
      case 'mem':
        mem?.hex.push(line);
        break;
      case 'ss':
        ssLines?.push(line);
        break;
      case 'clock':
        clockLines?.push(line);
        if (clockLines) dump.clock.set(clockCpu, `${clockLines.join('\n')}\n`);
        break;
      case 'errors': {
        const m = /^[a-z]+: (?:failed to open |error reading |cannot open )?['"‘]?([^'"’:]+)['"’]?: (.*)$/.exec(line);
        if (m) dump.errors.set(m[1] as string, ERRNO.find(([re]) => re.test(m[2] as string))?.[1] ?? 'EIO');
        break;
      }
      default:
        break;
    }
  }
  flushMem();
  if (ssLines && !('missing' in dump.ss && dump.ss.missing.startsWith('ss -tinHe failed'))) dump.ss = { text: ssLines.join('\n') };
  for (const [path, lines] of fileLines) {
    dump.files.set(path, `${lines.join('\n')}\n`);
    const task = /^([0-9]+)\/task\/([0-9]+)\/stat$/.exec(path);
    if (task) {
      const pid = Number(task[1]);
      const tids = dump.tidsByPid.get(pid) ?? [];
      tids.push(Number(task[2]));
      dump.tidsByPid.set(pid, tids);
    }
  }
  for (const [path, lines] of netLines) dump.nets.set(path, `${lines.join('\n')}\n`);
  for (const [path, target] of dump.links) {
    const m = /^([0-9]+)\/fd\/([0-9]+)$/.exec(path);
    if (!m) continue;
    const pid = Number(m[1]);
    const fds = dump.fdsByPid.get(pid) ?? [];
    fds.push({ fd: Number(m[2]), target });
    dump.fdsByPid.set(pid, fds);
  }
  return dump;
}
