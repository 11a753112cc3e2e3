import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type Docker from 'dockerode';
import { FaultlineError } from '../errors';
import { monotonicMs, withTimeout } from '../util/time';
import type { ImageName } from './image-catalogue';
import { containersDir, listFiles } from './image-context';
import { IMAGE_LABEL, SOURCE_LABEL } from './labels';

/**
 * The build strategies, one function each (pull, debootstrap rootfs, Go module, Dockerfile,
 * Dockerfile with a Node server), behind what the store gives them: the engine, the env, a
 * progress line, and the images they build on.
 */

export type ImageSource = 'pulled' | 'built-offline' | 'built';

export interface BuildHost {
  docker: Docker;
  env: NodeJS.ProcessEnv;
  /** One progress line for `image`, with the time since `started`. */
  progress(image: string, started: number, step: string): void;
  /** The tag of an image this one builds on (built first when missing). */
  ensure(name: ImageName): Promise<string>;
  inspect(tag: string): Promise<Docker.ImageInspectInfo | undefined>;
}

/** Pulls fail in ~50 ms without a registry; a slow registry still must not stall a run. */
const PULL_TIMEOUT_MS = 120_000;

/** Runs a command; rejects with its last output lines when it exits non-zero. */
export function spawnChecked(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; onLine?: (l: string) => void }): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) opts.onLine?.(line.trim());
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${tail.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

/** Tries the official image; resolves false at once when there is no registry. */
export async function tryPull(host: BuildHost, name: string, ref: string, started: number): Promise<boolean> {
  host.progress(name, started, `pulling ${ref}`);
  try {
    await withTimeout(
      new Promise<void>((res, rej) => {
        host.docker.pull(ref, (err: Error | null, stream: NodeJS.ReadableStream) => {
          if (err) return rej(err);
          host.docker.modem.followProgress(stream, (e: Error | null) => (e ? rej(e) : res()));
        });
      }),
      PULL_TIMEOUT_MS,
      `pull of ${ref}`,
    );
    return true;
  } catch (e) {
    const why = String((e as Error).message).split('\n')[0].slice(0, 160);
    host.progress(name, started, `pull failed (${why}); building offline`);
    return false;
  }
}

/** The Debian base with no registry: debootstrap a minbase rootfs, then `docker import` it. */
export async function buildRootfsBase(host: BuildHost, tag: string, started: number, official: string): Promise<void> {
  if (process.getuid?.() !== 0) {
    throw new FaultlineError(
      'FAULTLINE_IMAGE_BUILD_FAILED',
      `base image: ${official} cannot be pulled and the offline build (debootstrap) needs root: run \`sudo npx faultline images build\` once, or make the registry reachable`,
    );
  }
  const dir = mkdtempSync(join(tmpdir(), 'faultline-rootfs-'));
  try {
    host.progress('base', started, 'debootstrap --variant=minbase bookworm');
    let lastReport = 0;
    await spawnChecked('bash', [join(containersDir(), 'base', 'build-rootfs.sh'), dir], {
      onLine: (l) => {
        // debootstrap prints a line per package: report its phases, and otherwise the package
        // it is at every few seconds, so a minute-long step is never silent.
        const phase = /^I: (Resolving|Checking|Installing core|Unpacking the base|Configuring the base|Base system)/.test(l);
        if (phase || (l.startsWith('I: ') && monotonicMs() - lastReport >= 5000)) {
          lastReport = monotonicMs();
          host.progress('base', started, l);
        }
      },
    }).catch((e: Error) => {
      if (/ENOENT|debootstrap: command not found|debootstrap: not found/.test(e.message)) {
        throw new FaultlineError(
          'FAULTLINE_IMAGE_BUILD_FAILED',
          `base image: ${official} cannot be pulled and debootstrap is missing: \`apt-get install debootstrap\`, or make the registry reachable`,
          { cause: e },
        );
      }
      throw e;
    });
    host.progress('base', started, 'docker import');
    const [repo, version] = tag.split(':');
    const tar = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const stream = await host.docker.importImage(tar.stdout as unknown as string, {
      repo,
      tag: version,
      changes: [`LABEL ${IMAGE_LABEL}=base ${SOURCE_LABEL}=built-offline`, 'CMD ["bash"]'],
    } as Record<string, unknown>);
    await new Promise<void>((res, rej) => host.docker.modem.followProgress(stream, (e: Error | null) => (e ? rej(e) : res())));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `go install`'s flag that stamps Toxiproxy's version (`…/cmd/server@v2.12.0` -> `2.12.0`), as its Makefile does. */
export function toxiproxyVersionStamp(goModule: string): string {
  const version = goModule.split('@v')[1];
  if (!version) throw new Error(`toxiproxy image: ${goModule} names no version (@vX.Y.Z)`);
  return `-ldflags=-X github.com/Shopify/toxiproxy/v2.Version=${version}`;
}

/** Toxiproxy with no registry: the same program from its Go module, in containers/toxiproxy's scratch image. */
export async function buildToxiproxyFromGo(host: BuildHost, tag: string, started: number, official: string, goModule: string): Promise<void> {
  const ctx = mkdtempSync(join(tmpdir(), 'faultline-toxiproxy-'));
  try {
    cpSync(join(containersDir(), 'toxiproxy'), ctx, { recursive: true });
    host.progress('toxiproxy', started, `go install ${goModule}`);
    const env = { ...host.env, CGO_ENABLED: '0', GOBIN: ctx, GOFLAGS: '-trimpath' };
    // Stamp the version the official build stamps (its Makefile's -X ...Version): without it
    // /version answers "git", and the topology refuses a Toxiproxy whose version it cannot tell.
    await spawnChecked('go', ['install', toxiproxyVersionStamp(goModule), goModule], { env }).catch((e: Error) => {
      if (/ENOENT/.test(e.message)) {
        throw new FaultlineError(
          'FAULTLINE_IMAGE_BUILD_FAILED',
          `toxiproxy image: ${official} cannot be pulled and there is no Go toolchain to build it offline: install Go >= 1.22, or make the registry reachable`,
          { cause: e },
        );
      }
      throw e;
    });
    // `go install` of .../cmd/server names the binary after the package directory.
    cpSync(join(ctx, 'server'), join(ctx, 'toxiproxy-server'));
    rmSync(join(ctx, 'server'));
    await buildDir(host, 'toxiproxy', tag, started, ctx, {}, 'built-offline');
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** containers/NAME on faultline's base; `nodeServer` first transpiles its src/server.ts. */
export async function buildFromDockerfile(host: BuildHost, name: ImageName, tag: string, started: number, nodeServer: boolean): Promise<void> {
  const base = await host.ensure('base');
  const ctx = mkdtempSync(join(tmpdir(), `faultline-${name}-`));
  try {
    cpSync(join(containersDir(), name), ctx, { recursive: true });
    if (nodeServer) await transpileNodeServer(ctx);
    const baseSource = (await host.inspect(base))?.Config?.Labels?.[SOURCE_LABEL];
    await buildDir(host, name, tag, started, ctx, { BASE: base }, baseSource === 'pulled' ? 'built' : 'built-offline');
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** An image from a few files written into a fresh context (a pulled image re-tagged with its labels). */
export async function buildFiles(host: BuildHost, name: string, tag: string, started: number, files: Record<string, string>, source: ImageSource): Promise<void> {
  const ctx = mkdtempSync(join(tmpdir(), `faultline-${name}-`));
  try {
    for (const [file, content] of Object.entries(files)) writeFileSync(join(ctx, file), content);
    await buildDir(host, name, tag, started, ctx, {}, source);
  } finally {
    rmSync(ctx, { recursive: true, force: true });
  }
}

/** `docker build` of a directory, labelled with the image and how it was obtained; steps reported as progress. */
export async function buildDir(
  host: BuildHost,
  name: string,
  tag: string,
  started: number,
  ctx: string,
  buildargs: Record<string, string>,
  source: ImageSource,
): Promise<void> {
  const src = listFiles(ctx).map((f) => relative(ctx, f));
  const stream = await host.docker.buildImage(
    { context: ctx, src },
    {
      t: tag,
      buildargs,
      labels: { [IMAGE_LABEL]: name, [SOURCE_LABEL]: source },
      rm: true,
      forcerm: true,
    },
  );
  await new Promise<void>((res, rej) => {
    host.docker.modem.followProgress(
      stream,
      (err: Error | null, output: Array<{ error?: string }>) => {
        const failed = err?.message ?? output?.find((o) => o.error)?.error;
        if (failed) rej(new Error(failed.trim()));
        else res();
      },
      (event: { stream?: string; error?: string }) => {
        const line = event.stream?.trim();
        if (line && /^Step \d+\/\d+ :/.test(line)) host.progress(name, started, line.slice(0, 120));
      },
    );
  });
}

/** The storage node and the API are TypeScript; Debian's nodejs runs the CommonJS they transpile to. */
async function transpileNodeServer(ctx: string): Promise<void> {
  const { transform } = await import('esbuild');
  const source = readFileSync(join(ctx, 'src', 'server.ts'), 'utf8');
  const out = await transform(source, { loader: 'ts', format: 'cjs', target: 'node18', sourcefile: 'server.ts' });
  writeFileSync(join(ctx, 'server.js'), out.code);
}
