/** The engine's domain types in one import (src/worker/protocol.ts re-exports them). */
export type { Metrics, TaskMetrics } from './metrics'
export type { DoneReason, RunSummary, StepEvent } from './run'
export type { LayerSummary, ModelInput, ModelLimits, TaskKind } from './model'
export type { EpochPoint, StepPoint } from '../storage/types'
