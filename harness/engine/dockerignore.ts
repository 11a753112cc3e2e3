import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import dockerignore, { type Ignore } from '@balena/dockerignore';

/**
 * The `.dockerignore` rules of a build context, applied by @balena/dockerignore (the matcher
 * dockerode itself uses for what it sends, a port of Docker's own fileutils). The image store
 * lists a context's files through these rules both for the tag hash and for what it sends to the
 * engine, so the two agree by construction. The Dockerfile is always sent, as Docker does.
 */
export type IgnoreRules = Ignore;

export function parseDockerignore(text: string): IgnoreRules {
  return dockerignore().add(text.split(/\r?\n/));
}

/** Whether a context-relative path (forward slashes) is excluded by these rules. */
export function isIgnored(rules: IgnoreRules, rel: string): boolean {
  if (rel === 'Dockerfile') return false;
  return rules.ignores(rel);
}

/** The rules of `dir/.dockerignore`, or none. */
export function readDockerignore(dir: string): IgnoreRules {
  const file = join(dir, '.dockerignore');
  return parseDockerignore(existsSync(file) ? readFileSync(file, 'utf8') : '');
}
