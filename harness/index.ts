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
export type { Fault, ActiveFault } from './faults/fault';
export { toxic, proxyDown, type ToxicType } from './faults/proxy';
export { lostFin, droppedRst, synBlackhole, randomLoss, partition, repliesLost } from './faults/packet';
export { pauseNode, killNode, stopNode, restartNode } from './faults/node';
export { History, summarize } from './probes/history';
export { httpCall } from './probes/http';
export { PoolProbe } from './probes/pool';
export { SimUser, LoadLoop } from './probes/users';
export { runScenario, type RunOptions, type Progress } from './scenario/runner';
export { validateScenario, validateScenarios, scenarioSchema } from './scenario/schema';
export { webDiagnoser } from './scenario/diagnoser';
export type { Scenario, ScenarioContext, ScenarioResult, Variant, Verdict, ExpectedVerdict, VariantSpec, Timeline } from './scenario/types';
export type { KnobSpec, KnobValue, KnobTarget } from './scenario/knobs';
export { writeReport } from './report/html';
export { diagnose, renderText, toJson, LocalProcReader, ContainerProcReader } from './diagnose';
export { runLibrary } from './scenario/library';
export { faultlineMatchers } from './jest/matchers';
// Helpers for writing scenarios (no bundled scenario comes with them): the bundled library and
// its building blocks (profileUnderFault, upload, fpmStack ...) are `faultline/scenarios`.
export { steadyState, measureRecovery, HEALTH } from '../scenarios/common';
