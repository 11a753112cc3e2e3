/** `faultline watch`: a pool watched continuously, Prometheus metrics, incident snapshots. */
export { parseWatchArgs, checkInputs, DEFAULT_INTERVAL_S, DEFAULT_STUCK_FOR, DEFAULT_LISTEN, DEFAULT_OUT, DEFAULT_KEEP, type WatchOptions } from './options';
export { WatchMetrics, VERDICTS, type WatchVerdict } from './metrics';
export { Watcher, culpritLine, poolView, type WatcherConfig, type SampleResult } from './watcher';
export { writeSnapshot, readSnapshot, rotate, SNAPSHOT_FORMAT, type IncidentSnapshot } from './snapshot';
export { listenMetrics, type MetricsServer } from './server';
export { localSource, containerSource, type ReaderSource } from './target';
export { parseServicesJson, readServicesFile } from './services';
