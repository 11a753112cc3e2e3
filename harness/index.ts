/**
 * faultline's public API: topologies, faults, probes, scenarios and the diagnoser. The bundled
 * incident library is a separate entry, `faultline/scenarios`, so importing this one loads none of it.
 *
 *   await using topo = await new Topology().withStorageNodes(1).start();
 *   const fault = await lostFin('profile').inject(topo);
 *   ...
 *   await fault.heal();
 */
export { FaultlineError, UsageError, EXIT, exitCodeFor, type FaultlineErrorCode } from './errors';
export { connectDocker } from './engine/docker';
export { ImageStore, IMAGE_NAMES, type ImageName, type ImageInfo, type ImageProgress } from './engine/images';
export { cleanByLabel } from './engine/cleanup';
export { startSidecar, type Sidecar } from './engine/sidecar';
export { RUN_LABEL, newRun } from './engine/labels';
export { Topology, StartedTopology, type StartedService, type StartedWeb } from './topology/topology';
export { ServiceRegistry } from './topology/registry';
export type { ServiceOptions, ServiceSource, ServiceSeed } from './topology/services';
export type { Fault, ActiveFault, FaultEffect } from './faults/fault';
export { toxic, proxyDown, type ToxicType } from './faults/proxy';
export { lostFin, droppedRst, synBlackhole, randomLoss, partition, repliesLost, PARTITION_BEHAVIORS, type PartitionBehavior, type PartitionOptions, type PacketFaultOptions, type Hop } from './faults/packet';
export { pauseNode, killNode, stopNode, restartNode } from './faults/node';
export { History, summarize } from './probes/history';
export { httpCall } from './probes/http';
export { PoolProbe } from './probes/pool';
export { SimUser, LoadLoop } from './probes/users';
export { runScenario, type RunOptions, type Progress } from './scenario/runner';
export { validateScenario, validateScenarios, scenarioSchema } from './scenario/schema';
export { webDiagnoser } from './scenario/diagnoser';
export { runSchedule, observe, steadyState, measureRecovery, HEALTH, type Schedule, type ObserveWindow, type ObserveEnd } from './scenario/schedule';
export { PHASE, RUN_STAGES, type PhaseName, type RunStage } from './scenario/phases';
export { settledVerdict, judgeHealthWindow, EARLY_END } from './scenario/judge';
export { hangsUntilFixed } from './scenario/variants';
export type { Scenario, ScenarioContext, ScenarioResult, Variant, Verdict, ExpectedVerdict, VariantSpec, Timeline, ExpectedCulprit, ExpectedChain, CulpritSummary } from './scenario/types';
export type { KnobSpec, KnobValue, KnobTarget } from './scenario/knobs';
export { writeReport } from './report/html';
export { diagnose, renderText, toJson, LocalProcReader, ContainerProcReader } from './diagnose';
export { runLibrary } from './scenario/library';
export { faultlineMatchers } from './jest/matchers';
