/**
 * The POSIX-sh script a container reader runs once per sample (container.ts): it prints every file
 * the analysis needs in @@-delimited sections, keeping errors per file.
 */
import { probeScript } from './cpu-clock';
import { DECODED_ARCHES, syscallNumbers } from './syscalls';

/** `x86_64:7|x86_64:271|aarch64:73`: the awk alternation of a class's (or named syscalls') numbers per decoded arch. */
const caseOf = (cls: Parameters<typeof syscallNumbers>[1], names?: readonly string[]): string =>
  DECODED_ARCHES.flatMap((arch) => syscallNumbers(arch, cls, names).map((nr) => `${arch}:${nr}`)).join('|') || 'none';

/**
 * The collector script. Everything goes to stdout in @@-delimited sections; errors are kept per
 * file. `cacheClock`: the script runs in a sidecar, whose /tmp may keep the clock probes between
 * samples (cpu-clock.ts probeScript).
 */
export function collectorScript(options: { cacheClock?: boolean } = {}): string {
  const pollCase = caseOf('poll');
  const selectCase = caseOf('select');
  // Waits whose timeout is behind a pointer (see waits.ts): ppoll arg 2, select/pselect6 arg 4,
  // epoll_pwait2 arg 3 (awk's w[1] is the number, w[2] arg 0).
  const ppollCase = caseOf('poll', ['ppoll']);
  const epollPwait2Case = caseOf('epoll', ['epoll_pwait2']);
  return `
export LC_ALL=C
cd /proc || exit 97
E=/tmp/.faultline-diag-err.$$; T=/tmp/.faultline-diag-grep.$$; L=/tmp/.faultline-diag-links.$$; U=/tmp/.faultline-diag-task.$$
: >"$E"; : >"$U"
A=$(uname -m)
echo "@@arch $A"
echo "@@self $$"
printf '@@pids'; for d in [0-9]*; do printf ' %s' "$d"; done; echo
echo '@@grep'
grep -H -a '' uptime locks [0-9]*/stat [0-9]*/syscall [0-9]*/wchan [0-9]*/io [0-9]*/cmdline >"$T" 2>>"$E"
cat "$T"
grep -H -a -E '^(Name|Uid|NSpid|voluntary_ctxt_switches|nonvoluntary_ctxt_switches|se[.]exec_start)' [0-9]*/status [0-9]*/sched 2>>"$E"
grep -H -a '' [0-9]*/fdinfo/* 2>>"$E"
MT=$(awk '/^[0-9]+[/]stat:/ { c = index($0, ":"); s = substr($0, c + 1); sub(/^.*[)] /, "", s); split(s, w, " "); if (w[18] + 0 > 1) print substr($0, 1, index($0, "/") - 1) }' "$T")
if [ -n "$MT" ]; then
  set --
  for p in $MT; do set -- "$@" "$p"/task/[0-9]*/stat "$p"/task/[0-9]*/syscall "$p"/task/[0-9]*/wchan; done
  grep -H -a '' "$@" >"$U" 2>>"$E"
  cat "$U"
  set --
  for p in $MT; do set -- "$@" "$p"/task/[0-9]*/status "$p"/task/[0-9]*/sched; done
  grep -H -a -E '^(voluntary_ctxt_switches|nonvoluntary_ctxt_switches|se[.]exec_start)' "$@" 2>>"$E"
fi
echo '@@links'
find self/ns/net self/ns/mnt [0-9]*/ns/net [0-9]*/ns/mnt [0-9]*/fd -maxdepth 1 -type l -printf '%p\\t%l\\n' >"$L" 2>>"$E"
cat "$L"
echo '@@net'
S=$(grep '^self/ns/net' "$L" | cut -f2)
grep -H '' self/net/tcp self/net/tcp6 $(awk -F'\\t' -v s="$S" '$1 ~ /[/]ns[/]net$/ && $1 !~ /^self/ && $2 != s && !seen[$2]++ { split($1, p, "/"); print p[1] "/net/tcp"; print p[1] "/net/tcp6" }' "$L") 2>>"$E"
awk -v arch="$A" '
function hex(s,   i, v) { s = tolower(s); sub(/^0x/, "", s); v = 0; for (i = 1; i <= length(s); i++) v = v * 16 + index("0123456789abcdef", substr(s, i, 1)) - 1; return v }
function want(pid, addr, len) { if (!seen[pid " " addr " " len]++) print pid, addr, len }
/^[0-9]+[/](task[/][0-9]+[/])?syscall:[0-9]/ {
  c = index($0, ":"); split(substr($0, 1, c - 1), p, "/"); n = split(substr($0, c + 1), w, " ")
  key = arch ":" w[1]
  if (key ~ /^(${pollCase})$/) { nf = hex(w[3]); if (nf > 0 && nf <= 64) want(p[1], w[2], nf * 8); if (key ~ /^(${ppollCase})$/ && w[4] != "0x0") want(p[1], w[4], 16) }
  else if (key ~ /^(${selectCase})$/) { nf = hex(w[2]); if (nf > 1024) nf = 1024; len = int((nf + 63) / 64) * 8; if (len > 0) { if (w[3] != "0x0") want(p[1], w[3], len); if (w[4] != "0x0") want(p[1], w[4], len); if (w[6] != "0x0") want(p[1], w[6], 16) } }
  else if (key ~ /^(${epollPwait2Case})$/ && w[5] != "0x0") want(p[1], w[5], 16)
}' "$T" "$U" | while read -r pid addr len; do
  echo "@@mem $pid $addr $len"
  dd if="$pid/mem" bs="$len" count=1 skip="$((addr))" iflag=skip_bytes 2>>"$E" | od -An -v -tx1
done
# The task clock's lag behind uptime on each CPU the processes last ran on (cpu-clock.ts).
CPUS=$(awk '/^[0-9]+[/](task[/][0-9]+[/])?stat:/ { s = $0; sub(/^.*[)] /, "", s); split(s, w, " "); if (w[37] != "" && !seen[w[37]]++) print w[37] }' "$T" "$U")
${probeScript(options.cacheClock === true)}
# sock_diag in the sidecar's netns (the target's): socket times, unacked bytes, retransmits.
if command -v ss >/dev/null 2>&1; then echo '@@ss'; ss -tinHe 2>>"$E" || echo "@@ss-failed $?"; else echo '@@ss-missing'; fi
echo '@@errors'
cat "$E"
rm -f "$E" "$T" "$L" "$U"
echo '@@end'
`;
}
