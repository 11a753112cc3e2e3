// The incident library as jest tests: one file per scenario x variant, for teams that drive
// everything through jest and split it across CI jobs with `--shard=i/n`:
//
//   npx jest -c test/library/jest.config.js --shard=2/3
//
// Not part of `npm test` (the root config never matches test/library). The sequencer's shard is
// `faultline run --shard`'s: balanced by expected duration, the same split in every job.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

module.exports = {
  rootDir: '../..',
  testEnvironment: 'node',
  transform,
  testMatch: ['<rootDir>/test/library/**/*.test.ts'],
  testSequencer: '<rootDir>/test/library/sequencer.js',
  setupFilesAfterEnv: ['<rootDir>/test/helpers/integration-setup.ts'],
  // Two runs at once (`faultline run` defaults to 4; this jest path has not been measured at more).
  maxWorkers: 2,
};
