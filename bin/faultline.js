#!/usr/bin/env node
'use strict';
// Users' scenario files are TypeScript: tsx compiles them on the fly (CommonJS hook), so
// `npx faultline run my-scenario.ts` needs no build step of theirs.
require('tsx/cjs/api').register();

// In a checkout the sources sit beside bin/ and run as they are (no build needed to try a change);
// the published package ships no sources, only dist/ (built on prepack). Deciding by the sources'
// presence, not by dist/'s, means a stale dist/ in a checkout is never run.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

// `faultline list | head`: a reader that closed the pipe ends the output, not with a stack trace.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

const sources = join(__dirname, '..', 'harness', 'cli', 'main.ts');
const entry = existsSync(sources) ? sources : join(__dirname, '..', 'dist', 'harness', 'cli', 'main.js');
require(entry).cli(process.argv.slice(2));
