import { PassThrough, type Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { FaultlineError } from '../errors';
import { withTimeout } from '../util/time';
import { connectDocker } from './docker';
import { hardenedHostConfig, hardeningFor, type Hardening } from './hardening';
import { ImageStore } from './images';
import { newRun, ROLE_LABEL, TARGET_LABEL } from './labels';

export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Sidecar extends AsyncDisposable {
  readonly id: string;
  exec(argv: string[], opts?: { timeoutMs?: number }): Promise<ExecResult>;
  stop(): Promise<void>;
}

export interface SidecarOptions {
  /** Container id or name whose network (and optionally PID) namespace the sidecar joins. */
  target: string;
  sharePid: boolean;
  /**
   * The job: NET_ADMIN for packet faults, SYS_PTRACE for diagnosis. Every other capability is
   * dropped; each job brings the companion it was measured to need (NET_RAW for iptables,
   * DAC_READ_SEARCH for /proc of dumpable processes: engine/hardening.ts). Never --privileged.
   */
  capabilities: Array<'NET_ADMIN' | 'SYS_PTRACE'>;
  runId?: string;
  /** Labels of the run that owns the sidecar (defaults to a fresh identity of this process). */
  labels?: Record<string, string>;
  docker?: Docker;
  /** Toolbox image tag; built or pulled on demand when omitted. */
  image?: string;
}

/** Runs a command in a container and collects its output (docker exec, stdout/stderr demuxed). */
export async function execIn(
  docker: Docker,
  containerId: string,
  argv: string[],
  opts: { timeoutMs?: number } = {},
): Promise<ExecResult> {
  let hijacked: Duplex | undefined;
  const run = async (): Promise<ExecResult> => {
    const exec = await docker.getContainer(containerId).exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
    const stream = (hijacked = await exec.start({ hijack: true, stdin: false }));
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const stdout = new PassThrough().on('data', (c: Buffer) => out.push(c));
    const stderr = new PassThrough().on('data', (c: Buffer) => err.push(c));
    docker.modem.demuxStream(stream, stdout, stderr);
    await new Promise<void>((resolve, reject) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', reject);
    });
    const info = await exec.inspect();
    return {
      exitCode: info.ExitCode ?? -1,
      stdout: Buffer.concat(out).toString('utf8'),
      stderr: Buffer.concat(err).toString('utf8'),
    };
  };
  try {
    return await withTimeout(run(), opts.timeoutMs ?? 30_000, `exec of "${argv.join(' ').slice(0, 80)}" in ${containerId.slice(0, 12)}`);
  } finally {
    // The engine never ends the stream of an exec in a PID-sharing sidecar whose target was removed
    // mid-exec (measured on 20.10): an exec given up on would hold its socket, and the process, forever.
    hijacked?.destroy();
  }
}

/**
 * A toolbox container sharing the target's network namespace (and PID namespace when asked),
 * the `kubectl debug` pattern: nothing is installed into, or changed in, the target itself.
 */
export async function startSidecar(opts: SidecarOptions): Promise<Sidecar> {
  const docker = opts.docker ?? (await connectDocker()).docker;
  const image = opts.image ?? (await new ImageStore(docker).ensure('toolbox'));
  const target = await docker
    .getContainer(opts.target)
    .inspect()
    .catch((e: unknown) => {
      throw new FaultlineError('FAULTLINE_FAULT_FAILED', `sidecar target container "${opts.target}" not found`, { cause: e });
    });
  if (!target.State.Running) {
    throw new FaultlineError('FAULTLINE_FAULT_FAILED', `sidecar target container "${opts.target}" is not running (${target.State.Status})`);
  }
  const labels = { ...(opts.labels ?? newRun().labels) };
  if (opts.runId) labels['dev.faultline.run'] = opts.runId;
  labels[ROLE_LABEL] = 'sidecar';
  labels[TARGET_LABEL] = target.Id;

  const container = await docker.createContainer({
    Image: image,
    Cmd: ['sleep', 'infinity'],
    Labels: labels,
    HostConfig: {
      NetworkMode: `container:${target.Id}`,
      PidMode: opts.sharePid ? `container:${target.Id}` : undefined,
      ...hardenedHostConfig(sidecarHardening(opts.capabilities)),
      AutoRemove: false,
    },
  });
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await container.remove({ force: true }).catch((e: { statusCode?: number }) => {
      if (e.statusCode !== 404) throw e;
    });
  };
  try {
    await container.start();
  } catch (e) {
    await stop().catch(() => undefined);
    throw new FaultlineError('FAULTLINE_FAULT_FAILED', `sidecar for ${opts.target} failed to start: ${(e as Error).message}`, { cause: e });
  }
  return {
    id: container.id,
    exec: (argv, o) => execIn(docker, container.id, argv, o),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A sidecar's capabilities and limits: the union of its jobs' kinds. */
export function sidecarHardening(jobs: SidecarOptions['capabilities']): Hardening {
  const kinds = jobs.map((c) => hardeningFor(c === 'NET_ADMIN' ? 'net-admin' : 'ptrace'));
  return {
    capabilities: [...new Set(kinds.flatMap((k) => k.capabilities))],
    pidsLimit: Math.max(64, ...kinds.map((k) => k.pidsLimit)),
    memoryMiB: Math.max(128, ...kinds.map((k) => k.memoryMiB)),
    // It shares the target's network namespace: sysctls there are the target's, not ours to set.
    lowPortsUnprivileged: false,
  };
}
