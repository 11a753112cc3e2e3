export { writeReport, ensureWritableDir, type ReportOptions, type WrittenReport } from './write';
export { heatmapCells, VERDICT_SEVERITY, type Heatmap, type HeatmapCell, type SweepData } from './heatmap';
export { runView, slidingP99, healthDeadlineMs, type RunView } from './view';
export { chainView, type ChainView, type ChainNode } from './chain';
