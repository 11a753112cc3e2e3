import { UsageError } from '../errors';
import { connectDocker } from '../engine/docker';
import { IMAGE_NAMES, ImageStore } from '../engine/images';
import { checkEngineEnv, parseFlags } from './args';
import type { CliIO } from './io';
import { imageProgressPrinter } from './progress';

export const IMAGES_HELP = `Usage: faultline images [build] [--json]

Lists faultline's images: name, tag (a hash of its build context: an unchanged image is never
rebuilt), source (pulled, or built offline when no registry answers) and size.
  build    builds (or pulls) every missing image, with progress on stderr`;

const mb = (n?: number) => (n === undefined ? '-' : `${(n / 1e6).toFixed(0)} MB`);

export async function imagesCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags('images', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.stdout.write(`${IMAGES_HELP}\n`);
    return 0;
  }
  const [action, ...extra] = positionals;
  if ((action !== undefined && action !== 'build') || extra.length > 0) {
    throw new UsageError(`faultline images: unknown action "${[action, ...extra].join(' ')}": use \`faultline images\` or \`faultline images build\``);
  }
  checkEngineEnv(io.env);
  const { docker } = await connectDocker(io.env);
  const store = new ImageStore(docker, { onProgress: imageProgressPrinter(io), env: io.env });
  if (action === 'build') await store.ensureAll(IMAGE_NAMES);
  const list = await store.list();
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ images: list })}\n`);
  } else {
    const rows = [['image', 'tag', 'source', 'size'], ...list.map((i) => [i.name, i.tag, i.present ? (i.source ?? '?') : 'missing', mb(i.sizeBytes)])];
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) io.stdout.write(`${r.map((cell, c) => cell.padEnd(widths[c])).join('  ').trimEnd()}\n`);
    if (list.some((i) => !i.present)) io.stdout.write('missing images are built on first use, or now with `faultline images build`\n');
  }
  return 0;
}
