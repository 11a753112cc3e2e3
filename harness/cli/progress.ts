import type { ImageProgress } from '../engine/images';
import type { CliIO } from './io';

/** Image builds take minutes cold: say which image, which step, how long so far. */
export function imageProgressPrinter(io: CliIO): (p: ImageProgress) => void {
  return (p) => io.stderr.write(`[image ${p.image}] ${p.step} (${(p.elapsedMs / 1000).toFixed(1)} s)\n`);
}
