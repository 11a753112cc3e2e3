import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import type { StartedTopology } from '../topology/topology';
import { withTimeout } from '../util/time';
import type { History } from './history';
import type { RequestRecord } from './http';

/** What the client was told about its data, checked against what storage holds. */
export interface DataReport {
  /** Uploads the client was told succeeded. */
  acknowledged: number;
  /** Acknowledged uploads that storage does not hold intact (by sha256) on a quorum of nodes. */
  lost: number;
  /**
   * Answers contradicted by storage or by themselves: a node named in `acks` that does not hold
   * the data intact, or an HTTP status that disagrees with the body's `ok`.
   */
  misreported: number;
  /** One line per problem, for the report (the first MAX_PROBLEMS, then a count of the rest). */
  problems: string[];
}

interface UploadAnswer {
  ok?: boolean;
  sha256?: string;
  acks?: number[];
  nodes?: number[];
  quorum?: number;
}

const MAX_PROBLEMS = 10;

/** sha256 hex of a body: what an upload's record carries to be checked later. */
export function sha256(body: Buffer): string {
  return createHash('sha256').update(body).digest('hex');
}

/** Asks a storage node (on its published port, at the engine's host) for `STAT key`. */
async function stat(host: string, port: number, key: string): Promise<{ size: number; sha: string } | null> {
  const line = await withTimeout(
    new Promise<string>((resolve, reject) => {
      const s = connect({ host, port });
      let buf = '';
      s.on('connect', () => s.write(`STAT ${key}\n`));
      s.on('data', (c) => {
        buf += c.toString();
        if (buf.includes('\n')) {
          s.end();
          resolve(buf.split('\n')[0]);
        }
      });
      s.on('error', reject);
      s.on('close', () => resolve(buf.split('\n')[0]));
    }),
    5000,
    `STAT ${key} on ${host}:${port}`,
  );
  const m = /^SIZE (\d+) ([0-9a-f]{64})$/.exec(line.trim());
  return m ? { size: Number(m[1]), sha: m[2] } : null;
}

/** The node's currently published port (it changes when a killed node is started again). */
async function publishedPort(topo: StartedTopology, node: number): Promise<number> {
  const service = topo.service(`storage-${node}`);
  const info = await topo.docker.getContainer(service.container.getId()).inspect();
  const binding = info.NetworkSettings.Ports?.[`${service.internal.port}/tcp`]?.[0];
  return binding ? Number(binding.HostPort) : service.hostPort;
}

/**
 * Judges every upload in the history (records of kind `upload` carrying `meta.key` and
 * `meta.sha256`) against storage, after the run's faults are healed. Uploads the client gave up
 * on (no answer) are neither acknowledged nor misreported: the client knows it does not know.
 */
export async function checkUploads(topo: StartedTopology, history: History): Promise<DataReport> {
  const report: DataReport = { acknowledged: 0, lost: 0, misreported: 0, problems: [] };
  const ports = new Map<number, number>();
  const portOf = async (node: number) => {
    if (!ports.has(node)) ports.set(node, await publishedPort(topo, node));
    return ports.get(node)!;
  };
  const uploads = history.requests.filter((r): r is RequestRecord & { meta: Record<string, string> } => r.kind === 'upload' && !!r.meta?.key);
  for (const r of uploads) {
    if (r.status === undefined) continue; // no answer: nothing was claimed
    let answer: UploadAnswer;
    try {
      answer = JSON.parse(r.body ?? '') as UploadAnswer;
    } catch {
      continue; // not an upload answer (a 400, an Apache error page): nothing claimed about data
    }
    const { key, sha256: sent } = r.meta;
    const claimedOk = answer.ok === true;
    if ((r.status === 200) !== claimedOk) {
      report.misreported++;
      report.problems.push(`${key}: HTTP ${r.status} but the body says ok=${answer.ok}`);
    }
    const nodes = answer.nodes?.length ? answer.nodes : [1];
    const held: number[] = [];
    for (const node of nodes) {
      const s = await stat(topo.service(`storage-${node}`).container.getHost(), await portOf(node), key).catch(() => null);
      if (s && s.sha === sent) held.push(node);
    }
    for (const node of answer.acks ?? []) {
      if (!held.includes(node)) {
        report.misreported++;
        report.problems.push(`${key}: the answer says node ${node} acknowledged it, but node ${node} does not hold it intact`);
      }
    }
    if (claimedOk && r.status === 200) {
      report.acknowledged++;
      const quorum = answer.quorum ?? 1;
      if (held.length < quorum) {
        report.lost++;
        report.problems.push(`${key}: acknowledged to the client, held intact by ${held.length} of ${nodes.length} nodes (quorum ${quorum})`);
      }
    }
  }
  if (report.problems.length > MAX_PROBLEMS) {
    const rest = report.problems.length - MAX_PROBLEMS;
    report.problems = [...report.problems.slice(0, MAX_PROBLEMS), `(+${rest} more)`];
  }
  return report;
}
