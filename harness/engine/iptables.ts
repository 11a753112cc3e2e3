/**
 * Reading faultline's own rules back from `iptables -S`, so each can be deleted with an argv
 * (`iptables -D <chain> <spec>`) instead of a shell pipeline.
 */

/**
 * Splits one line of `iptables -S` into its arguments. iptables prints a string that needs it in
 * double quotes, with `"`, `\` and `'` escaped by a backslash (libxtables' xtables_save_string).
 */
export function ruleArgv(line: string): string[] {
  const args: string[] = [];
  let current = '';
  let inWord = false;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (quoted) {
      if (ch === '\\' && i + 1 < line.length) current += line[++i];
      else if (ch === '"') quoted = false;
      else current += ch;
    } else if (ch === '"') {
      quoted = inWord = true;
    } else if (ch === ' ' || ch === '\t') {
      if (inWord) args.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quoted) throw new Error(`unterminated quote in iptables rule: ${line}`);
  if (inWord) args.push(current);
  return args;
}

/**
 * The rules in an `iptables -S` listing whose comment starts with `commentPrefix`, each as the
 * arguments that follow `-D`: the chain, then the rule's spec exactly as listed.
 */
export function rulesWithComment(listing: string, commentPrefix: string): string[][] {
  const rules: string[][] = [];
  for (const line of listing.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const args = ruleArgv(line);
    const comment = args.indexOf('--comment');
    if (comment > 0 && args[comment + 1]?.startsWith(commentPrefix)) rules.push(args.slice(1));
  }
  return rules;
}

/** A rule's counters as `iptables -S -v` lists them (`-c <packets> <bytes>`). */
export interface RuleCounters {
  packets: number;
  bytes: number;
}

/**
 * The counters of every commented rule in an `iptables -S -v` listing, by comment (faultline gives
 * each of its rules a comment of its own). Rules without a comment or counters are left out.
 */
export function ruleCounters(listing: string): Map<string, RuleCounters> {
  const byComment = new Map<string, RuleCounters>();
  for (const line of listing.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const args = ruleArgv(line);
    const comment = args.indexOf('--comment');
    const c = args.indexOf('-c');
    if (comment < 0 || c < 0) continue;
    const packets = Number(args[c + 1]);
    const bytes = Number(args[c + 2]);
    if (Number.isFinite(packets) && Number.isFinite(bytes)) byComment.set(args[comment + 1], { packets, bytes });
  }
  return byComment;
}
