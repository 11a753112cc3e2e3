/** Ports and names every topology shares: re-exported by topology.ts, no imports of its own. */

export const STORAGE_PORT = 9000;
/** Proxies listen inside the Toxiproxy container from here up, one port per service port, in declaration order. */
export const PROXY_PORT_BASE = 10000;
/** The demo topology's profile backend listens on the first proxy port. */
export const PROFILE_PROXY_PORT = PROXY_PORT_BASE;
/** storage-i listens on toxiproxy at STORAGE_PROXY_BASE + i. */
export const STORAGE_PROXY_BASE = PROXY_PORT_BASE;
/** Network alias of the Toxiproxy container: the app reaches every service through it. */
export const TOXIPROXY_ALIAS = 'toxiproxy';
