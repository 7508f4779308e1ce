// The simulator's library surface, for ops, benches and end-to-end tests (README "How it fits").
export { generateScenarioReadings, readingAt, FIRST_READING_WITHIN_MS, type ScenarioRequest, type SimReading } from './readings.ts';
export { stationValues } from './signals/index.ts';
export { SCENARIOS, SCENARIO_INFO, YAGI_RISE_H, YAGI_FALL_H, type ScenarioName, type SignalContext } from './scenarios.ts';
export { applyFault, toWireItems, FAULT_KINDS, PAYLOAD_FAULTS, ALL_FAULTS, type FaultKind, type FaultPlan } from './faults.ts';
export { wireBody, singleMessage, batchMessages, type OutMessage, type WireItem } from './wire.ts';
export { createSimulator, type Simulator, type SimulatorOptions, type SimulatorStats } from './simulator.ts';
export { createGateway, type Gateway, type GatewayOptions } from './gateway.ts';
export { runLoad, type LoadOptions, type LoadProgress, type LoadResult } from './load.ts';
export { selectStations } from './select.ts';
