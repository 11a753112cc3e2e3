import type Docker from 'dockerode';
import type { ImageName, ImageStore, ProgressListener } from '../engine/images';
import type { RunIdentity } from '../engine/labels';
import type { HardeningOverrides } from '../engine/hardening';
import { UsageError } from '../errors';
import { demoServices } from './demo';
import type { ServiceDecl } from './services';

/**
 * What a Topology builder has declared (TopologyOptions) and what start is given (StartOptions),
 * with the facts derived from a declaration alone: the services in proxy-port order and the
 * images they need. The builder (topology.ts) and start (start.ts) both read them from here.
 */
export interface TopologyOptions {
  storageNodes: number;
  maxWorkers: number;
  /** Seed data of the profile backend (a storage node): key -> value. */
  profiles: Record<string, string>;
  /** Env passed to the web container on top of faultline's (timeouts of the fixed variants ...). */
  webEnv: Record<string, string>;
  /** Sysctls of the web's network namespace (net.ipv4.tcp_keepalive_* ...). */
  webSysctls: Record<string, string>;
  /** Sysctls of Toxiproxy's network namespace (the upstream side of each proxied connection). */
  proxySysctls: Record<string, string>;
  /** The app under test: the bundled Apache/PHP app, another bundled image, a user's image or Dockerfile. */
  web: { kind: 'bundled'; image: ImageName } | { kind: 'image'; ref: string } | { kind: 'dockerfile'; dir: string; name: string };
  webHealthPath: string;
  /** Whether the demo backends (profile, storage-N) are part of the topology. */
  demoServices: boolean;
  /** Services declared with withService, in declaration order. */
  services: ServiceDecl[];
  /** Capabilities and limits of the web container instead of its kind's (engine/hardening.ts). */
  webHardening?: HardeningOverrides;
  startTimeoutMs: number;
}

export interface StartOptions {
  docker?: Docker;
  images?: ImageStore;
  run?: RunIdentity;
  onProgress?: (message: string) => void;
  onImageProgress?: ProgressListener;
  env?: NodeJS.ProcessEnv;
}

/** Whether the web tier is the bundled Apache/PHP app. */
export function usesBundledWeb(o: TopologyOptions): boolean {
  return o.web.kind === 'bundled' && o.web.image === 'web';
}

/** faultline images the topology needs (for building them up front, once, before parallel runs). */
export function bundledImages(o: TopologyOptions): ImageName[] {
  const names = new Set<ImageName>(['toxiproxy', 'toolbox']);
  if (o.web.kind === 'bundled') names.add(o.web.image);
  for (const s of allServices(o)) if (s.source.kind === 'bundled') names.add(s.source.image);
  return [...names];
}

/** The demo backends (when on) and the declared services, in proxy-port order. */
export function allServices(o: TopologyOptions): ServiceDecl[] {
  if (!o.demoServices) return o.services;
  const all = demoServices(o.profiles, o.storageNodes);
  const clash = o.services.find((s) => all.some((d) => d.name === s.name));
  if (clash) throw new UsageError(`withService("${clash.name}"): name "${clash.name}" is taken by a demo backend; pick another or call withoutDemoServices()`);
  return [...all, ...o.services];
}
