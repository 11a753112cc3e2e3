import type Docker from 'dockerode';
import { ownerIsGone, ROLE_LABEL, RUN_LABEL, TARGET_LABEL } from './labels';
import { execIn } from './sidecar';

/** Every iptables rule faultline adds carries this comment prefix, so it can always be found again. */
export const IPTABLES_COMMENT_PREFIX = 'faultline:';

export interface CleanReport {
  containers: string[];
  networks: string[];
  iptablesTargets: string[];
}

/**
 * Removes what faultline runs left behind. By default only runs whose process is gone (so it is
 * safe to call at the start of every run, even with other runs alive); `all` removes everything
 * labelled, `runId` one run.
 */
export async function sweep(docker: Docker, opts: { all?: boolean; runId?: string } = {}): Promise<CleanReport> {
  const report: CleanReport = { containers: [], networks: [], iptablesTargets: [] };
  const selects = (labels: Record<string, string> | undefined): boolean => {
    if (!labels?.[RUN_LABEL]) return false;
    if (opts.runId) return labels[RUN_LABEL] === opts.runId;
    return opts.all === true || ownerIsGone(labels);
  };

  const containers = (await docker.listContainers({ all: true, filters: { label: [RUN_LABEL] } })).filter((c) => selects(c.Labels));
  const doomed = new Set(containers.map((c) => c.Id));

  // Packet-fault rules live in the target's network namespace. When the target is not going away
  // with this sweep (a user's container), remove our rules through the sidecar before it goes.
  for (const c of containers) {
    const target = c.Labels[TARGET_LABEL];
    if (c.Labels[ROLE_LABEL] !== 'sidecar' || !target || doomed.has(target) || c.State !== 'running') continue;
    const script = `iptables-save -t filter | grep -v -- '${IPTABLES_COMMENT_PREFIX}' | iptables-restore -T filter`;
    const r = await execIn(docker, c.Id, ['sh', '-c', script], { timeoutMs: 10_000 }).catch(() => undefined);
    if (r?.exitCode === 0) report.iptablesTargets.push(target.slice(0, 12));
  }
  // Sidecars first (they hold the target's namespaces), then the rest.
  containers.sort((a, b) => Number(b.Labels[ROLE_LABEL] === 'sidecar') - Number(a.Labels[ROLE_LABEL] === 'sidecar'));
  for (const c of containers) {
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true });
      report.containers.push(`${c.Names[0]?.replace(/^\//, '') ?? c.Id.slice(0, 12)}`);
    } catch (e) {
      // Gone, or another sweep (a concurrent run's, or `faultline clean`) is removing it.
      const { statusCode, message } = e as { statusCode?: number; message?: string };
      if (statusCode !== 404 && !(statusCode === 409 && /already in progress/.test(message ?? ''))) throw e;
    }
  }
  const networks = (await docker.listNetworks({ filters: { label: [RUN_LABEL] } })).filter((n) => selects(n.Labels));
  for (const n of networks) {
    try {
      await docker.getNetwork(n.Id).remove();
      report.networks.push(n.Name);
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode !== 404) throw e;
    }
  }
  return report;
}
