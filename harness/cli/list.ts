import { SCENARIOS } from '../../scenarios';
import { VARIANTS } from '../scenario/types';
import { noPositionals, parseFlags } from './args';
import type { CliIO } from './io';

export const LIST_HELP = 'Usage: faultline list [--json]\n\nThe bundled scenarios, their variants with the expected outcome, and what each shows.\n';

export async function listCommand(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseFlags('list', args, { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } });
  if (values.help) {
    io.stdout.write(LIST_HELP);
    return 0;
  }
  noPositionals('list', positionals);
  const rows = SCENARIOS.map((s) => ({
    name: s.name,
    summary: s.summary,
    shows: s.shows,
    variants: Object.fromEntries(VARIANTS.map((v) => [v, s.variants[v]])),
  }));
  if (values.json) {
    io.stdout.write(`${JSON.stringify({ scenarios: rows })}\n`);
    return 0;
  }
  for (const r of rows) {
    const variants = VARIANTS.flatMap((v) => {
      const spec = r.variants[v];
      if (!spec) return [];
      return `${v} -> ${spec.expected}${spec.culprit ? ` (culprit ${spec.culprit.kind} on ${spec.culprit.service})` : ''}`;
    }).join('; ');
    io.stdout.write(`${r.name}\n  ${r.summary}\n  shows: ${r.shows}\n  ${variants}\n`);
  }
  return 0;
}
