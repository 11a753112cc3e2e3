/**
 * The images faultline bundles, one entry each: the Apache stack (web, storage), the fpm stack
 * (fpm, mariadb, redis, api; see containers/fpm/README.md), and what every topology needs.
 * `faultline images`, the build, the README's Images table and the tests read this list; adding
 * an image is its build context in containers/NAME plus one entry here, in build order.
 *
 * How each is built:
 * - `pulled`: the official image where a registry answers, else built offline by `offline`
 *   (`rootfs`: debootstrap + docker import; `go-module`: the program's Go module in a scratch image);
 * - `dockerfile`: containers/NAME on faultline's base (`ARG BASE`);
 * - `node-server`: the same, after its TypeScript server (src/server.ts) is transpiled to server.js.
 */
export const IMAGES = [
  { name: 'base', build: 'pulled', pull: 'debian:bookworm-slim', overrideEnv: 'FAULTLINE_BASE_IMAGE', offline: 'rootfs' },
  { name: 'toxiproxy', build: 'pulled', pull: 'ghcr.io/shopify/toxiproxy:2.12.0', overrideEnv: 'FAULTLINE_TOXIPROXY_IMAGE', offline: 'go-module', goModule: 'github.com/Shopify/toxiproxy/v2/cmd/server@v2.12.0' },
  { name: 'toolbox', build: 'dockerfile' },
  { name: 'storage', build: 'node-server' },
  { name: 'web', build: 'dockerfile' },
  { name: 'redis', build: 'dockerfile' },
  { name: 'api', build: 'node-server' },
  { name: 'mariadb', build: 'dockerfile' },
  { name: 'fpm', build: 'dockerfile' },
] as const;

type Entry = (typeof IMAGES)[number];
export type ImageName = Entry['name'];
/** The images a registry may serve (the rest are always built, on the base). */
export type PulledImage = Extract<Entry, { build: 'pulled' }>['name'];
export type ImageBuild = Entry['build'];

/** Every image, in build order. */
export const IMAGE_NAMES: readonly ImageName[] = IMAGES.map((i) => i.name);

export function imageEntry(name: ImageName): Entry {
  return IMAGES.find((i) => i.name === name)!;
}

const PULLED = IMAGES.filter((i): i is Extract<Entry, { build: 'pulled' }> => i.build === 'pulled');
/** The official reference of each pulled image. */
export const OFFICIAL: Record<PulledImage, string> = Object.fromEntries(PULLED.map((i) => [i.name, i.pull])) as Record<PulledImage, string>;
/** Env vars that point a pulled image at another reference (an internal mirror, a pinned digest). */
export const IMAGE_OVERRIDE_ENV: Record<PulledImage, string> = Object.fromEntries(PULLED.map((i) => [i.name, i.overrideEnv])) as Record<PulledImage, string>;

export function isPulledImage(name: ImageName): name is PulledImage {
  return imageEntry(name).build === 'pulled';
}
