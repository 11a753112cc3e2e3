import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { packageRoot } from '../util/package-root';
import { isIgnored, readDockerignore } from './dockerignore';
import type { ImageName } from './image-catalogue';

/** Build contexts and their hashes: what an image's tag covers and what is sent to the engine. */

// The build contexts ship with the package: found from its root, in the sources and in dist/ alike.
/** Resolved when an image is built, not at load: the single-file faultline-diagnose has no package beside it. */
export const containersDir = (): string => join(packageRoot(), 'containers');
/** Bump to force every image to be rebuilt when the build procedure itself changes. */
const BUILD_RECIPE_VERSION = '1';

/**
 * Every file of a build context, sorted: what the hash covers and what is sent to the engine.
 * `.dockerignore` is honoured (so editing an ignored README does not make a new tag);
 * node_modules is never sent.
 */
export function listFiles(root: string): string[] {
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
