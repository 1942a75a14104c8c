/** The engine's domain types in one import (src/worker/protocol.ts re-exports them). */
export type { Metrics, TaskMetrics } from './metrics'
export type { DoneReason, EpochEvent, EpochPoint, RunSummary, StepEvent, StepPoint } from './run'
export type { LayerSummary, ModelInput, ModelLimits, ModelSummary, SettingsPlan, TaskKind } from './model'
export type { PlaygroundAnswer, PlaygroundInput, Which } from './playground'
