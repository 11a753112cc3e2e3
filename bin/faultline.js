#!/usr/bin/env node
'use strict';
// The CLI is TypeScript, like the scenarios users write: tsx compiles both on the fly
// (CommonJS hook), so `npx faultline run my-scenario.ts` needs no build step.
require('tsx/cjs/api').register();
require('../harness/cli/main.ts').cli(process.argv.slice(2));
