/**
 * Live processes for the diagnoser's rule tests (test/integration/diagnose-rules.test.ts): each
 * program in this folder prints `ready` (and `key value` lines before it) once it is in the state
 * the test needs. Every one leads its own process group, killed whole by `killAll`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

export const STACKS = __dirname;

export interface Live {
  pid: number;
  child: ChildProcess;
  lines: string[];
  /** The value of the first `key value` line printed before `ready`. */
  value(key: string): string | undefined;
}

export class LiveSet {
  private readonly children: ChildProcess[] = [];

  start(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; readyTimeoutMs?: number } = {}): Promise<Live> {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, cwd: opts.cwd, env: opts.env ?? process.env });
    this.children.push(child);
    return new Promise((resolve, reject) => {
      const lines: string[] = [];
      let out = '';
      let err = '';
      const timer = setTimeout(() => reject(new Error(`${cmd} ${args.join(' ')}: no "ready" in ${opts.readyTimeoutMs ?? 30_000} ms; stderr: ${err}`)), opts.readyTimeoutMs ?? 30_000);
      child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
      child.stdout?.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const parts = out.split('\n');
        out = parts.pop() ?? '';
        for (const line of parts) {
          lines.push(line);
          if (line === 'ready') {
            clearTimeout(timer);
            resolve({
              pid: child.pid as number,
              child,
              lines,
              value: (key) => lines.find((l) => l.startsWith(`${key} `))?.slice(key.length + 1),
            });
          }
        }
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`${cmd} ${args.join(' ')} exited early (${code}): ${err}`));
      });
    });
  }

  killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
    for (const child of this.children.splice(0)) {
      if (child.pid === undefined) continue;
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    }
  }
}

export async function waitFor(what: string, cond: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Field 3 of /proc/PID[/task/TID]/stat, or '?' once gone. */
export function stateOf(pid: number, tid?: number): string {
  try {
    const stat = fs.readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '?';
  } catch {
    return '?';
  }
}

/** The thread ids of a process. */
export function tidsOf(pid: number): number[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`).map(Number).sort((a, b) => a - b);
  } catch {
    return [];
  }
}
