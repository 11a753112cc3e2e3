'use strict';
// jest's --shard for the library: the split of harness/scenario/shard.ts (by expected duration),
// not jest's hash of file paths, so `jest --shard=i/n` and `faultline run --shard i/n` agree.
const Sequencer = require('@jest/test-sequencer').default;
const { basename } = require('node:path');
require('tsx/cjs/api').register();
const { shardRuns } = require('../../harness/scenario/shard.ts');

/** test/library/<scenario>.<variant>.test.ts -> { scenario, variant } */
function runOf(test) {
  const m = /^(.+)\.(incident|fixed)\.test\.ts$/.exec(basename(test.path));
  return m ? { scenario: m[1], variant: m[2], test } : { scenario: basename(test.path), variant: 'fixed', test };
}

class LibrarySequencer extends Sequencer {
  shard(tests, { shardIndex, shardCount }) {
    return shardRuns(tests.map(runOf), { index: shardIndex, count: shardCount }).map((r) => r.test);
  }
}

module.exports = LibrarySequencer;
