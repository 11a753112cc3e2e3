// Two projects: `unit` (fast, no Docker) and `integration` (real containers, run serially).
// Type checking is done once by `tsc --noEmit` in `npm test`, so ts-jest only transpiles.
const transform = { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] };

module.exports = {
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
    },
    {
      displayName: 'integration',
      testEnvironment: 'node',
      transform,
      testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
      // Real containers: one file at a time (`npm test` passes --runInBand) keeps a 2-core
      // machine honest about the timings verdicts rest on.
      setupFilesAfterEnv: ['<rootDir>/test/helpers/integration-setup.ts'],
    },
  ],
};
