export { writeReport, ensureWritableDir, type ReportOptions, type WrittenReport } from './write';
export { heatmapCells, type Heatmap, type HeatmapCell, type SweepData } from './heatmap';
export { runView, slidingP99, healthDeadlineMs, type RunView } from './view';
export { chainView, type ChainView, type ChainNode } from './chain';
