import { createHash } from 'node:crypto';
import { spawn } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve, sep } from 'node:path';
import type Docker from 'dockerode';
import { FaultlineError, UsageError } from '../errors';
import { packageRoot } from '../util/package-root';
import { monotonicMs, withTimeout } from '../util/time';
import { isIgnored, readDockerignore } from './dockerignore';
import { IMAGE_LABEL, SOURCE_LABEL } from './labels';

/**
 * The images faultline bundles: the Apache stack (web, storage), the fpm stack (fpm, mariadb,
 * redis, api; see containers/fpm/README.md), and what every topology needs. Listed in build order.
 */
export type ImageName = 'base' | 'toxiproxy' | 'web' | 'storage' | 'toolbox' | 'fpm' | 'mariadb' | 'redis' | 'api';
export const IMAGE_NAMES: readonly ImageName[] = ['base', 'toxiproxy', 'toolbox', 'storage', 'web', 'redis', 'api', 'mariadb', 'fpm'];
/** Images whose build context carries a TypeScript server (src/server.ts) that Node runs as server.js. */
const NODE_SERVER_IMAGES: ReadonlySet<ImageName> = new Set(['storage', 'api']);

export type ImageSource = 'pulled' | 'built-offline' | 'built';

export interface ImageProgress {
  /** A faultline image, or `app:<name>` for a user's Dockerfile. */
  image: string;
  /** e.g. "Step 3/7 : RUN apt-get install ..." or "pulling debian:bookworm-slim". */
  step: string;
  elapsedMs: number;
}
export type ProgressListener = (p: ImageProgress) => void;

export interface ImageInfo {
  name: ImageName;
  tag: string;
  present: boolean;
  source?: ImageSource;
  sizeBytes?: number;
}

// The build contexts ship with the package: found from its root, in the sources and in dist/ alike.
/** Resolved when an image is built, not at load: the single-file faultline-diagnose has no package beside it. */
const containersDir = (): string => join(packageRoot(), 'containers');
export type PulledImage = 'base' | 'toxiproxy';
const OFFICIAL: Record<PulledImage, string> = {
  base: 'debian:bookworm-slim',
  toxiproxy: 'ghcr.io/shopify/toxiproxy:2.12.0',
};
/** Env vars that point a pulled image at another reference (an internal mirror, a pinned digest). */
export const IMAGE_OVERRIDE_ENV: Record<PulledImage, string> = {
  base: 'FAULTLINE_BASE_IMAGE',
  toxiproxy: 'FAULTLINE_TOXIPROXY_IMAGE',
};
// [registry[:port]/]path[:tag][@digest], lower-case path components.
/** An image reference: [registry[:port]/]path[:tag][@digest]. */
export const IMAGE_REF = /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-]+[a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-]+[a-z0-9]+)*)*(?::[\w][\w.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$/;

/** The reference pulled for `name`: the official image unless the env overrides it. */
export function officialRef(name: PulledImage, env: NodeJS.ProcessEnv = process.env): string {
  const key = IMAGE_OVERRIDE_ENV[name];
  const value = env[key];
  if (value === undefined || value === '') return OFFICIAL[name];
  if (!IMAGE_REF.test(value)) {
    throw new UsageError(`${key}=${value} is not an image reference: use e.g. ${key}=registry.example.com:5000/${OFFICIAL[name].replace(/^ghcr\.io\//, '')}, or unset it`);
  }
  return value;
}
const TOXIPROXY_MODULE = 'github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0';
/** Bump to force every image to be rebuilt when the build procedure itself changes. */
const BUILD_RECIPE_VERSION = '1';
/** Pulls fail in ~50 ms without a registry; a slow registry still must not stall a run. */
const PULL_TIMEOUT_MS = 120_000;

/**
 * Every file of a build context, sorted: what the hash covers and what is sent to the engine.
 * `.dockerignore` is honoured (so editing an ignored README does not make a new tag);
 * node_modules is never sent.
 */
function listFiles(root: string): string[] {
  const rules = readDockerignore(root);
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules') walk(full);
      } else if (entry.isFile() && !isIgnored(rules, relative(root, full).split(sep).join('/'))) out.push(full);
    }
  };
  walk(root);
  return out.sort();
}

/** Hash of an image's build context (every file's path and bytes) plus what it builds FROM. */
export function contextHash(name: ImageName, extra: string[] = []): string {
  return hashDir(join(containersDir(), name), extra);
}

export function hashDir(dir: string, extra: string[] = []): string {
  const h = createHash('sha256');
  h.update(`recipe:${BUILD_RECIPE_VERSION}\n`);
  for (const file of listFiles(dir)) {
    h.update(relative(dir, file));
    h.update('\0');
    h.update(readFileSync(file));
    h.update('\0');
  }
  for (const e of extra) h.update(e);
  return h.digest('hex').slice(0, 12);
}

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

/**
 * Obtains faultline's images: pulled where a registry answers, else built locally from the
 * recipes in containers/. Tags carry a hash of the build context, so an unchanged image is never
 * rebuilt. One instance per process; concurrent requests for the same image share one build.
 */
export class ImageStore {
  /** Builds under way, by image name (or app directory): concurrent callers share one build. */
  private readonly inflight = new Map<string, Promise<string>>();

  constructor(
    private readonly docker: Docker,
    private readonly opts: { onProgress?: ProgressListener; env?: NodeJS.ProcessEnv } = {},
  ) {}

  private get env(): NodeJS.ProcessEnv {
    return this.opts.env ?? process.env;
  }

  /** What a registry would serve for a pulled image (see IMAGE_OVERRIDE_ENV). */
  pullRef(name: PulledImage): string {
    return officialRef(name, this.env);
  }

  /** The tag an image has (or will have) for the current recipes. */
  tagFor(name: ImageName): string {
    // A pulled image's tag also covers an overridden reference (the official one keeps the
    // tags images had before overrides existed); a built image's covers its base.
    const pulledFrom = (n: PulledImage): string[] => {
      const ref = officialRef(n, this.env);
      return ref === OFFICIAL[n] ? [] : [`from:${ref}`];
    };
    const extra = name === 'base' || name === 'toxiproxy' ? pulledFrom(name) : [this.tagFor('base')];
    return `faultline/${name}:${contextHash(name, extra)}`;
  }

  async list(): Promise<ImageInfo[]> {
    const out: ImageInfo[] = [];
    for (const name of IMAGE_NAMES) {
      const tag = this.tagFor(name);
      const inspect = await this.inspect(tag);
      out.push({
        name,
        tag,
        present: inspect !== undefined,
        source: inspect?.Config?.Labels?.[SOURCE_LABEL] as ImageSource | undefined,
        sizeBytes: inspect?.Size,
      });
    }
    return out;
  }

  /** Returns the tag of an image that exists locally, building (or pulling) it if needed. */
  ensure(name: ImageName): Promise<string> {
    return this.once(name, () => this.ensureUncached(name));
  }

  private once(key: string, build: () => Promise<string>): Promise<string> {
    let p = this.inflight.get(key);
    if (!p) {
      p = build();
      this.inflight.set(key, p);
      p.catch(() => this.inflight.delete(key));
    }
    return p;
  }

  async ensureAll(names: readonly ImageName[] = IMAGE_NAMES): Promise<Record<ImageName, string>> {
    const tags = {} as Record<ImageName, string>;
    // Sequential on purpose: builds compete for 2 cores and the apt mirror.
    for (const n of names) tags[n] = await this.ensure(n);
    return tags;
  }

  private async inspect(tag: string): Promise<Docker.ImageInspectInfo | undefined> {
    try {
      return await this.docker.getImage(tag).inspect();
    } catch {
      return undefined;
    }
  }

  /**
   * A user's image from a Dockerfile directory (e.g. their own web tier). Tagged by the hash of
   * the directory and the base, so an unchanged app is never rebuilt. The Dockerfile may use
   * `ARG BASE` / `FROM \${BASE}` to build on faultline's Debian base (pulled or built offline).
   */
  ensureContext(dir: string, name: string): Promise<string> {
    return this.once(`app:${resolve(dir)}`, () => this.buildContextDir(dir, name));
  }

  private async buildContextDir(dir: string, name: string): Promise<string> {
    const slug = name.toLowerCase().replace(/[^a-z0-9_.-]+/g, '-');
    const base = await this.ensure('base');
    const tag = `faultline/app-${slug}:${hashDir(dir, [base])}`;
    if (await this.inspect(tag)) return tag;
    const started = monotonicMs();
    const label = `app:${slug}`;
    try {
      await this.buildDir(label, tag, started, dir, { BASE: base }, 'built');
    } catch (e) {
      throw new FaultlineError('FAULTLINE_IMAGE_BUILD_FAILED', `app image ${name} from ${dir} could not be built: ${(e as Error).message}`, { cause: e });
    }
    this.progress(label, started, `ready as ${tag}`);
    return tag;
  }

  private progress(image: string, started: number, step: string): void {
    this.opts.onProgress?.({ image, step, elapsedMs: monotonicMs() - started });
  }

  private async ensureUncached(name: ImageName): Promise<string> {
    const tag = this.tagFor(name);
    if (await this.inspect(tag)) return tag;
    const started = monotonicMs();
    try {
      switch (name) {
        case 'base':
          await this.buildBase(tag, started);
          break;
        case 'toxiproxy':
          await this.buildToxiproxy(tag, started);
          break;
        default:
          await this.buildFromDockerfile(name, tag, started);
      }
    } catch (e) {
      if (e instanceof FaultlineError) throw e;
      throw new FaultlineError(
        'FAULTLINE_IMAGE_BUILD_FAILED',
        `image ${name} (${tag}) could not be built: ${(e as Error).message}`,
        { cause: e },
      );
    }
    this.progress(name, started, `ready as ${tag}`);
    return tag;
  }

  /** Tries the official image; resolves false at once when there is no registry. */
  private async tryPull(name: string, ref: string, started: number): Promise<boolean> {
    this.progress(name, started, `pulling ${ref}`);
    try {
      await withTimeout(
        new Promise<void>((res, rej) => {
          this.docker.pull(ref, (err: Error | null, stream: NodeJS.ReadableStream) => {
            if (err) return rej(err);
            this.docker.modem.followProgress(stream, (e: Error | null) => (e ? rej(e) : res()));
          });
        }),
        PULL_TIMEOUT_MS,
        `pull of ${ref}`,
      );
      return true;
    } catch (e) {
      const why = String((e as Error).message).split('\n')[0].slice(0, 160);
      this.progress(name, started, `pull failed (${why}); building offline`);
      return false;
    }
  }

  private async buildBase(tag: string, started: number): Promise<void> {
    const official = this.pullRef('base');
    if (await this.tryPull('base', official, started)) {
      await this.buildContext('base', tag, started, { Dockerfile: `FROM ${official}\n` }, 'pulled');
      return;
    }
    if (process.getuid?.() !== 0) {
      throw new FaultlineError(
        'FAULTLINE_IMAGE_BUILD_FAILED',
        `base image: ${official} cannot be pulled and the offline build (debootstrap) needs root: run \`sudo npx faultline images build\` once, or make the registry reachable`,
      );
    }
    const dir = mkdtempSync(join(tmpdir(), 'faultline-rootfs-'));
    try {
      this.progress('base', started, 'debootstrap --variant=minbase bookworm');
      let lastReport = 0;
      await spawnChecked('bash', [join(containersDir(), 'base', 'build-rootfs.sh'), dir], {
        onLine: (l) => {
          // debootstrap prints a line per package: report its phases, and otherwise the package
          // it is at every few seconds, so a minute-long step is never silent.
          const phase = /^I: (Resolving|Checking|Installing core|Unpacking the base|Configuring the base|Base system)/.test(l);
          if (phase || (l.startsWith('I: ') && monotonicMs() - lastReport >= 5000)) {
            lastReport = monotonicMs();
            this.progress('base', started, l);
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
      this.progress('base', started, 'docker import');
      const [repo, version] = tag.split(':');
      const tar = spawn('tar', ['-C', dir, '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const stream = await this.docker.importImage(tar.stdout as unknown as string, {
        repo,
        tag: version,
        changes: [`LABEL ${IMAGE_LABEL}=base ${SOURCE_LABEL}=built-offline`, 'CMD ["bash"]'],
      } as Record<string, unknown>);
      await new Promise<void>((res, rej) => this.docker.modem.followProgress(stream, (e: Error | null) => (e ? rej(e) : res())));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private async buildToxiproxy(tag: string, started: number): Promise<void> {
    const official = this.pullRef('toxiproxy');
    if (await this.tryPull('toxiproxy', official, started)) {
      await this.buildContext('toxiproxy', tag, started, { Dockerfile: `FROM ${official}\n` }, 'pulled');
      return;
    }
    const ctx = mkdtempSync(join(tmpdir(), 'faultline-toxiproxy-'));
    try {
      cpSync(join(containersDir(), 'toxiproxy'), ctx, { recursive: true });
      this.progress('toxiproxy', started, `go install ${TOXIPROXY_MODULE}`);
      const env = { ...this.env, CGO_ENABLED: '0', GOBIN: ctx, GOFLAGS: '-trimpath' };
      // Stamp the version the official build stamps (its Makefile's -X ...Version): without it
      // /version answers "git", and the topology refuses a Toxiproxy whose version it cannot tell.
      const stamp = `-ldflags=-X github.com/Shopify/toxiproxy/v2.Version=${TOXIPROXY_MODULE.split('@v')[1]}`;
      await spawnChecked('go', ['install', stamp, TOXIPROXY_MODULE], { env }).catch((e: Error) => {
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
      await this.buildDir('toxiproxy', tag, started, ctx, {}, 'built-offline');
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  }

  private async buildFromDockerfile(name: ImageName, tag: string, started: number): Promise<void> {
    const base = await this.ensure('base');
    const ctx = mkdtempSync(join(tmpdir(), `faultline-${name}-`));
    try {
      cpSync(join(containersDir(), name), ctx, { recursive: true });
      if (NODE_SERVER_IMAGES.has(name)) await transpileNodeServer(ctx);
      const baseSource = (await this.inspect(base))?.Config?.Labels?.[SOURCE_LABEL];
      await this.buildDir(name, tag, started, ctx, { BASE: base }, baseSource === 'pulled' ? 'built' : 'built-offline');
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  }

  private async buildContext(
    name: string,
    tag: string,
    started: number,
    files: Record<string, string>,
    source: ImageSource,
  ): Promise<void> {
    const ctx = mkdtempSync(join(tmpdir(), `faultline-${name}-`));
    try {
      for (const [file, content] of Object.entries(files)) writeFileSync(join(ctx, file), content);
      await this.buildDir(name, tag, started, ctx, {}, source);
    } finally {
      rmSync(ctx, { recursive: true, force: true });
    }
  }

  private async buildDir(
    name: string,
    tag: string,
    started: number,
    ctx: string,
    buildargs: Record<string, string>,
    source: ImageSource,
  ): Promise<void> {
    const src = listFiles(ctx).map((f) => relative(ctx, f));
    const stream = await this.docker.buildImage(
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
      this.docker.modem.followProgress(
        stream,
        (err: Error | null, output: Array<{ error?: string }>) => {
          const failed = err?.message ?? output?.find((o) => o.error)?.error;
          if (failed) rej(new Error(failed.trim()));
          else res();
        },
        (event: { stream?: string; error?: string }) => {
          const line = event.stream?.trim();
          if (line && /^Step \d+\/\d+ :/.test(line)) this.progress(name, started, line.slice(0, 120));
        },
      );
    });
  }
}

/** The storage node and the API are TypeScript; Debian's nodejs runs the CommonJS they transpile to. */
async function transpileNodeServer(ctx: string): Promise<void> {
  const { transform } = await import('esbuild');
  const source = readFileSync(join(ctx, 'src', 'server.ts'), 'utf8');
  const out = await transform(source, { loader: 'ts', format: 'cjs', target: 'node18', sourcefile: 'server.ts' });
  writeFileSync(join(ctx, 'server.js'), out.code);
}
