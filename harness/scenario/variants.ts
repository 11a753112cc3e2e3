import type { ExpectedCulprit, Variant, VariantSpec } from './types';

/**
 * The variants most scenarios have: the incident code hangs and the diagnosis must name
 * `culprit`; the fixed code (timeouts, the lock released) stays responsive and, diagnosed at the
 * same moment, names no culprit. A scenario with another pair writes its `variants` out.
 */
export function hangsUntilFixed(culprit: ExpectedCulprit): Record<Variant, VariantSpec> {
  return {
    incident: { expected: 'hung', culprit },
    fixed: { expected: 'responsive' },
  };
}
