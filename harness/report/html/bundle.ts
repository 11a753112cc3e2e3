/** The report's script, bundled by esbuild from client/ (Observable Plot included) once per process. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

let bundled: Promise<string> | undefined;

export function reportScript(): Promise<string> {
  bundled ??= (async () => {
    const { build } = await import('esbuild');
    const out = await build({
      // The sources in a checkout; the compiled JavaScript in the installed package (dist/).
      entryPoints: [join(__dirname, 'client', existsSync(join(__dirname, 'client', 'main.ts')) ? 'main.ts' : 'main.js')],
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
