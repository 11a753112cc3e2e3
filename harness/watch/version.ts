import { packageVersion } from '../util/package-root';

/** Set by scripts/build.js in the single-file bundle, which has no package.json beside it. */
declare const __FAULTLINE_BUNDLED_VERSION__: string | undefined;

/** faultline's version, in the package and in the bundle alike. */
export function faultlineVersion(): string {
  if (typeof __FAULTLINE_BUNDLED_VERSION__ === 'string') return __FAULTLINE_BUNDLED_VERSION__;
  return packageVersion();
}
