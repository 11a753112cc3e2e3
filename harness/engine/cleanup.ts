import type Docker from 'dockerode';
import { rulesWithComment } from './iptables';
import { ownerIsGone, ROLE_LABEL, RUN_LABEL, TARGET_LABEL } from './labels';
import { execIn } from './sidecar';

/** Every iptables rule faultline adds carries this comment prefix, so it can always be found again. */
export const IPTABLES_COMMENT_PREFIX = 'faultline:';

/** A run's rules that could not be removed from a container that outlives the run. */
export interface RuleRemovalFailure {
  /** The container whose network namespace holds the rules (short id). */
  target: string;
  /** The sidecar kept so the next sweep can try again (name). */
  sidecar: string;
  error: string;
}

export interface CleanReport {
  containers: string[];
  networks: string[];
  /** Containers (short ids) that outlive their run and had its iptables rules removed. */
  iptablesTargets: string[];
  /** Rules left in place; their sidecars were kept, still labelled, for the next sweep. */
  iptablesFailures: RuleRemovalFailure[];
}

/**
 * Removes what faultline runs left behind. By default only runs whose process is gone (so it is
 * safe to call at the start of every run, even with other runs alive); `all` removes everything
 * labelled, `runId` one run.
 */
export async function cleanByLabel(docker: Docker, opts: { all?: boolean; runId?: string } = {}): Promise<CleanReport> {
  const report: CleanReport = { containers: [], networks: [], iptablesTargets: [], iptablesFailures: [] };
  const selects = (labels: Record<string, string> | undefined): boolean => {
    if (!labels?.[RUN_LABEL]) return false;
    if (opts.runId) return labels[RUN_LABEL] === opts.runId;
    return opts.all === true || ownerIsGone(labels);
  };

  const containers = (await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } })).filter((c) => selects(c.Labels));
  const doomed = new Set(containers.map((c) => c.Id));
  const kept = new Set<string>();

  // Packet-fault rules live in the target's network namespace. When the target is not going away
  // with this sweep (a user's container), remove our rules through the sidecar before it goes.
  // The sidecar is the only way into that namespace faultline holds: if a removal fails, the
  // sidecar stays, labelled as it was, and every later sweep (each run's start, `faultline
  // clean`) tries again until the rules are gone or the target is.
  for (const c of containers) {
    const target = c.Labels[TARGET_LABEL];
    if (c.Labels[ROLE_LABEL] !== 'sidecar' || !target || doomed.has(target)) continue;
    const error = await removeRunRules(docker, c, target, report);
    if (error) {
      kept.add(c.Id);
      report.iptablesFailures.push({ target: target.slice(0, 12), sidecar: containerName(c), error });
    }
  }
  // Sidecars first (they hold the target's namespaces), then the rest.
  const removable = containers.filter((c) => !kept.has(c.Id));
  removable.sort((a, b) => Number(b.Labels[ROLE_LABEL] === 'sidecar') - Number(a.Labels[ROLE_LABEL] === 'sidecar'));
  for (const c of removable) {
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      report.containers.push(containerName(c));
    } catch (e) {
      if (!goneOrGoing(e)) throw e;
    }
  }
  const networks = (await docker.listNetworks({ filters: { label: [RUN_LABEL] } })).filter((n) => selects(n.Labels));
  for (const n of networks) {
    try {
      await docker.getNetwork(n.Id).remove();
      report.networks.push(n.Name);
    } catch (e) {
      if (!goneOrGoing(e)) throw e;
    }
  }
  return report;
}

/** Removed already (404), or being removed by another sweep running at the same time (409). */
function goneOrGoing(e: unknown): boolean {
  const { statusCode, message } = e as { statusCode?: number; message?: string };
  return statusCode === 404 || (statusCode === 409 && /already in progress|marked for removal/.test(message ?? ''));
}

function containerName(c: Docker.ContainerInfo): string {
  return c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12);
}

/**
 * Deletes the sidecar's run's rules (comment `faultline:<run>:`) from the target's namespace, one
 * `iptables -D` argv per rule. Returns why it could not, or undefined when nothing is left.
 */
async function removeRunRules(docker: Docker, sidecar: Docker.ContainerInfo, target: string, report: CleanReport): Promise<string | undefined> {
  try {
    const targetInfo = await docker.getContainer(target).inspect().catch((e: { statusCode?: number }) => {
      if (e.statusCode === 404) return undefined;
      throw e;
    });
    // A stopped or removed target's namespace is gone with its rules (a restart gets a new one).
    if (!targetInfo?.State.Running) return undefined;
    const info = await docker.getContainer(sidecar.Id).inspect();
    // Only a NET_ADMIN sidecar can have added rules (a ptrace one cannot even list them).
    const caps = (info.HostConfig.CapAdd ?? []).map((c: string) => c.replace(/^CAP_/, ''));
    if (!caps.includes('NET_ADMIN')) return undefined;
    if (info.State.Status === 'removing' || info.State.Status === 'dead') return undefined; // another sweep has it
    if (!info.State.Running) await docker.getContainer(sidecar.Id).start();

    const list = await execIn(docker, sidecar.Id, ['iptables', '-w', '5', '-t', 'filter', '-S'], { timeoutMs: 10_000 });
    if (list.exitCode !== 0) return `iptables -S exited ${list.exitCode}: ${oneLine(list.stderr)}`;
    const rules = rulesWithComment(list.stdout, `${IPTABLES_COMMENT_PREFIX}${sidecar.Labels[RUN_LABEL]}:`);
    const errors: string[] = [];
    for (const rule of rules) {
      const r = await execIn(docker, sidecar.Id, ['iptables', '-w', '5', '-t', 'filter', '-D', ...rule], { timeoutMs: 10_000 });
      if (r.exitCode !== 0) errors.push(`iptables -D ${rule.join(' ')}: ${oneLine(r.stderr) || `exit ${r.exitCode}`}`);
    }
    if (rules.length > errors.length) report.iptablesTargets.push(target.slice(0, 12));
    return errors.length ? errors.join('; ') : undefined;
  } catch (e) {
    return oneLine((e as Error).message);
  }
}

/** Each failure is reported on one line. */
function oneLine(text: string): string {
  return text.trim().replace(/\s*\n\s*/g, ' ');
}
