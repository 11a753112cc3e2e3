/**
 * The layers of faultline, enforced by `npm run lint` (part of `npm test`). Each rule says why;
 * a new module follows them by where it lives.
 */
/**
 * harness/cli modules that are not commands: shared by the commands, or a dispatch (main and its
 * catalogue; diagnose-bundle, the single-file faultline-diagnose's own dispatch of two commands).
 */
const CLI_HELPERS = '^harness/cli/(args|io|progress|scenario-file|main|commands|diagnose-bundle)\\.ts$';

module.exports = {
  forbidden: [
    {
      name: 'diagnose-stands-alone',
      comment:
        'harness/diagnose is a dependency-free library behind a /proc seam (faultline/diagnose): it imports nothing else of faultline.',
      severity: 'error',
      from: { path: '^harness/diagnose/' },
      to: { path: '^(harness/(?!diagnose/)|scenarios/|bin/)' },
    },
    {
      name: 'scenario-below-sweep-and-cli',
      comment: 'harness/scenario runs and judges one scenario; the sweep and the CLI are built on it, never the reverse.',
      severity: 'error',
      from: { path: '^harness/scenario/' },
      to: { path: '^harness/(sweep|cli)/' },
    },
    {
      name: 'harness-below-cli',
      comment: 'Only the CLI and the bin may import the CLI: the library must work without it.',
      severity: 'error',
      from: { path: '^harness/(?!cli/)' },
      to: { path: '^harness/cli/' },
    },
    {
      name: 'commands-independent',
      comment:
        'A CLI command does not import another command: what two share goes in a helper (args, io, progress, scenario-file) or below harness/cli.',
      severity: 'error',
      from: { path: '^harness/cli/', pathNot: CLI_HELPERS },
      to: { path: '^harness/cli/', pathNot: CLI_HELPERS },
    },
    {
      name: 'helpers-import-no-command',
      comment: 'The CLI helpers serve the commands; only the catalogue (commands.ts) imports a command.',
      severity: 'error',
      from: { path: '^harness/cli/(args|io|progress|scenario-file|main)\\.ts$' },
      to: { path: '^harness/cli/', pathNot: CLI_HELPERS },
    },
    {
      name: 'public-entry-without-bundled-scenarios',
      comment:
        'import "faultline" must not load the bundled incident library: it is the faultline/scenarios entry. scenarios/common.ts holds helpers only.',
      severity: 'error',
      from: { path: '^harness/index\\.ts$' },
      to: { path: '^scenarios/(?!common\\.ts$)', reachable: true },
    },
    {
      name: 'no-circular',
      comment: 'A cycle makes load order matter and hides which module owns a fact.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|dist)/' },
  },
};
