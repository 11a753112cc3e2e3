import { resolve } from 'node:path';
import type Docker from 'dockerode';
import { FaultlineError, UsageError } from '../errors';
import { monotonicMs } from '../util/time';
import { buildDir, buildFiles, buildFromDockerfile, buildRootfsBase, buildToxiproxyFromGo, tryPull, type BuildHost, type ImageSource } from './image-build';
import { IMAGE_NAMES, IMAGE_OVERRIDE_ENV, imageEntry, isPulledImage, OFFICIAL, type ImageName, type PulledImage } from './image-catalogue';
import { contextHash, hashDir } from './image-context';
import { SOURCE_LABEL } from './labels';

export { IMAGES, IMAGE_NAMES, IMAGE_OVERRIDE_ENV, type ImageName, type PulledImage } from './image-catalogue';
export { contextHash, hashDir } from './image-context';
export { spawnChecked, type ImageSource } from './image-build';

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

/**
 * Obtains faultline's images: pulled where a registry answers, else built locally from the
 * recipes in containers/ (the strategies are in image-build.ts, the list in image-catalogue.ts).
 * Tags carry a hash of the build context, so an unchanged image is never rebuilt. One instance
 * per process; concurrent requests for the same image share one build.
 */
export class ImageStore {
  /** Builds under way, by image name (or app directory): concurrent callers share one build. */
  private readonly inflight = new Map<string, Promise<string>>();
  /** What the build strategies are given. */
  private readonly host: BuildHost;

  constructor(
    private readonly docker: Docker,
    private readonly opts: { onProgress?: ProgressListener; env?: NodeJS.ProcessEnv } = {},
  ) {
    this.host = {
      docker,
      env: this.env,
      progress: (image, started, step) => this.progress(image, started, step),
      ensure: (name) => this.ensure(name),
      inspect: (tag) => this.inspect(tag),
    };
  }

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
    const extra = isPulledImage(name) ? pulledFrom(name) : [this.tagFor('base')];
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
      await buildDir(this.host, label, tag, started, dir, { BASE: base }, 'built');
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
      await this.build(name, tag, started);
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

  /** The catalogue entry says how: pulled (else its offline build), or from its Dockerfile. */
  private async build(name: ImageName, tag: string, started: number): Promise<void> {
    const entry = imageEntry(name);
    if (entry.build !== 'pulled') return buildFromDockerfile(this.host, name, tag, started, entry.build === 'node-server');
    const official = this.pullRef(entry.name);
    if (await tryPull(this.host, name, official, started)) return buildFiles(this.host, name, tag, started, { Dockerfile: `FROM ${official}\n` }, 'pulled');
    if (entry.offline === 'rootfs') return buildRootfsBase(this.host, tag, started, official);
    return buildToxiproxyFromGo(this.host, tag, started, official, entry.goModule);
  }
}
