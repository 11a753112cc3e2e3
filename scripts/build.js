#!/usr/bin/env node
'use strict';
// `npm run build` (and `prepack`): dist/ from scratch, so no stale module of a renamed source
// can be shipped. JavaScript for everything, declarations for the public entry points.
const { execFileSync } = require('node:child_process');
const { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

const root = join(__dirname, '..');
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
rmSync(join(root, 'dist'), { recursive: true, force: true });
for (const project of ['tsconfig.build.json', 'tsconfig.types.json']) {
  execFileSync(process.execPath, [tsc, '-p', project], { cwd: root, stdio: 'inherit' });
}

// dockerode's types are `export =`: the sources default-import them (esModuleInterop), and tsc
// copies that into the declarations, where a consumer without esModuleInterop gets TS1259.
// `import X = require()` means the same under every setting.
const DEFAULT_IMPORT = /^import (?:type )?(\w+) from '(dockerode)';$/gm;
const walk = (dir) => readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
for (const file of walk(join(root, 'dist')).filter((f) => f.endsWith('.d.ts'))) {
  const text = readFileSync(file, 'utf8');
  const fixed = text.replace(DEFAULT_IMPORT, "import $1 = require('$2');");
  if (fixed !== text) writeFileSync(file, fixed);
}

// Files the compiled modules read beside themselves at run time (tsc copies only what it compiles).
for (const asset of ['harness/report/html/report.css']) copyFileSync(join(root, asset), join(root, 'dist', asset));

// faultline-diagnose: `diagnose` and `watch` in one .cjs with every dependency inside, for a host
// that gets one file and Node >= 18, no node_modules. esbuild is already a dependency (tsx's).
// ssh2's optional native helpers (dockerode over ssh://) stay out: ssh2 falls back without them.
// esbuild stays out too: only the storage/API image builds use it (never reached from diagnose or
// watch, whose sidecar is the toolbox image), and its JS without its native binary is dead weight.
const esbuild = require('esbuild');
const version = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version;
esbuild.buildSync({
  entryPoints: [join(root, 'harness', 'cli', 'diagnose-bundle.ts')],
  outfile: join(root, 'dist', 'faultline-diagnose.cjs'),
  bundle: true,
  platform: 'node',
  target: 'node18',
  format: 'cjs',
  minify: false,
  legalComments: 'eof',
  external: ['cpu-features', '*.node', 'esbuild'],
  define: { __FAULTLINE_BUNDLED_VERSION__: JSON.stringify(version) },
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
require('node:fs').chmodSync(join(root, 'dist', 'faultline-diagnose.cjs'), 0o755);
