import { STORAGE_PORT, TOXIPROXY_ALIAS } from './constants';
import { declareService, type ServiceDecl } from './services';

/**
 * faultline's demo backends: a `profile` storage node seeded with profiles and `storage-N` nodes,
 * all from the bundled storage image, and the one variable the demo app reads every storage node
 * from. A topology has them unless `withoutDemoServices()`.
 */

/** The profile backend's default seed data. */
export const DEMO_PROFILES = { 'profile:alice': '{"name":"alice","plan":"pro"}', 'profile:bob': '{"name":"bob","plan":"free"}' };

/** The demo backends, profile first, then storage-1 .. storage-<storageNodes>. */
export function demoServices(profiles: Record<string, string>, storageNodes: number): ServiceDecl[] {
  const seed = Object.entries(profiles).map(([k, v]) => `${k}=${v}`).join(';');
  const demo = (name: string, env: Record<string, string>, appEnv: Record<string, string>) =>
    declareService(name, { bundled: 'storage' }, { port: STORAGE_PORT, env: { STORAGE_NAME: name, STORAGE_PORT: String(STORAGE_PORT), ...env }, appEnv, beforeApp: false, startupTimeoutMs: 30_000 });
  const storage = Array.from({ length: storageNodes }, (_, i) => demo(`storage-${i + 1}`, {}, {}));
  // The demo app reads every storage node from one variable.
  return [demo('profile', { STORAGE_SEED: seed }, { FL_PROFILE_ADDR: '{addr}' }), ...storage];
}

/** FL_STORAGE_ADDRS: every storage node's proxied address (`toxiproxy:<port>`), comma-separated. */
export function storageAddrs(services: ServiceDecl[], listenPort: (service: string, port: number) => number): string {
  return services
    .filter((d) => d.name.startsWith('storage-'))
    .map((d) => `${TOXIPROXY_ALIAS}:${listenPort(d.name, STORAGE_PORT)}`)
    .join(',');
}
