/** Names a topology gives its parts; no imports, so the scenario schema can check against them cheaply. */

/**
 * Service names end up in container names, Toxiproxy proxy names, env var names and iptables
 * comments: lower-case letters, digits and dashes, starting with a letter (an env var name cannot
 * start with a digit). At most 31 characters: the container `faultline-<run id>-<name>` (run ids
 * are 18 characters) then stays within one 63-character DNS label, as Docker's DNS serves it.
 * The one pattern: a scenario's expected culprit is checked against it too (harness/scenario/schema.ts),
 * since a culprit named outside it could never match a service of any topology.
 */
export const SERVICE_NAME = /^[a-z][a-z0-9-]{0,30}$/;
export const SERVICE_NAME_RULE = '1-31 lower-case letters, digits or dashes, starting with a letter';
