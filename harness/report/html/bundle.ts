/** The report's script, bundled by esbuild from client/ (Observable Plot included) once per process. */
import { join } from 'node:path';

let bundled: Promise<string> | undefined;

export function reportScript(): Promise<string> {
  bundled ??= (async () => {
    const { build } = await import('esbuild');
    const out = await build({
      entryPoints: [join(__dirname, 'client', 'main.ts')],
      bundle: true,
      minify: true,
      format: 'iife',
      platform: 'browser',
      target: 'es2020',
      write: false,
      logLevel: 'silent',
    });
    return out.outputFiles[0].text;
  })();
  bundled.catch(() => (bundled = undefined));
  return bundled;
}
