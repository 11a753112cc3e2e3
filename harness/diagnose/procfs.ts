/**
 * Where the diagnoser reads a procfs from. A `ProcReader` hands out one `ProcSnapshot` per sample;
 * all reads of a sample go through that snapshot and are synchronous, so the analysis code is the
 * same whether the files come from the local /proc (read on demand), a fixture tree, or a dump
 * taken in one exec inside a sidecar (see container.ts).
 *
 * This module is the entry: the seam's types and shared helpers are in procfs-types.ts, the live
 * reader in procfs-local.ts (its ss runs in procfs-sockets.ts), the recorded trees' in
 * procfs-fixture.ts.
 */
export {
  errorCode,
  isDenied,
  isGone,
  monotonicMs,
  sleepMs,
  type FdLink,
  type FdListResult,
  type MemResult,
  type ProcReader,
  type ProcSnapshot,
  type ReadError,
  type ReadResult,
  type SnapshotHint,
  type TidListResult,
  type UnixDiagResult,
} from './procfs-types';
export { LocalProcReader, LocalSnapshot, selfAndAncestors } from './procfs-local';
export { FixtureProcReader } from './procfs-fixture';
