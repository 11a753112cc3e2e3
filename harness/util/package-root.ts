import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * faultline's own package directory, found by walking up from this module: `harness/util` in the
 * sources, `dist/harness/util` in the published package. What runtime reads from the package
 * (the image build contexts in containers/, package.json) is resolved from here, never from a
 * fixed number of `..`.
 */
export function packageRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'faultline') return dir;
    if (dirname(dir) === dir) throw new Error(`faultline: no package.json named "faultline" above ${from}: the package is incomplete, reinstall it`);
  }
}

/** The installed faultline's version, from its package.json. */
export function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
