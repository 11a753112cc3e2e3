import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The `.dockerignore` rules of a build context, as Docker applies them: patterns relative to
 * the context root (a leading `/` is ignored), `*` and `?` within one path segment, `**` across
 * segments, a pattern that matches a directory excludes everything under it, `!` re-includes,
 * and the last matching line wins. The Dockerfile is always sent.
 */
export type IgnoreRule = { negate: boolean; re: RegExp };

export function parseDockerignore(text: string): IgnoreRule[] {
  const rules: IgnoreRule[] = [];
  for (const raw of text.split('\n')) {
    let line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const negate = line.startsWith('!');
    if (negate) line = line.slice(1).trim();
    line = line.replace(/^\/+/, '').replace(/\/+$/, '').replace(/^\.\//, '');
    if (!line || line === '.') continue;
    rules.push({ negate, re: new RegExp(`^${globToRegex(line)}(?:/.*)?$`) });
  }
  return rules;
}

function globToRegex(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more directories; a trailing `**` matches everything below.
      if (glob[i + 2] === '/') {
        out += '(?:.*/)?';
        i += 2;
      } else {
        out += '.*';
        i += 1;
      }
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end === -1) out += '\\[';
      else {
        out += `[${glob.slice(i + 1, end).replace(/^!/, '^').replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else if (c === '\\' && i + 1 < glob.length) out += `\\${glob[++i]}`;
    else out += c.replace(/[.+^${}()|]/g, '\\$&');
  }
  return out;
}

/** Whether a context-relative path (forward slashes) is excluded by these rules. */
export function isIgnored(rules: IgnoreRule[], rel: string): boolean {
  if (rel === 'Dockerfile') return false;
  let ignored = false;
  for (const r of rules) if (r.re.test(rel)) ignored = !r.negate;
  return ignored;
}

/** The rules of `dir/.dockerignore`, or none. */
export function readDockerignore(dir: string): IgnoreRule[] {
  const file = join(dir, '.dockerignore');
  return existsSync(file) ? parseDockerignore(readFileSync(file, 'utf8')) : [];
}
