/** The shapes of the metrics API (/api/v1/metrics/...), as monitoring/api.py answers them: names for
 * the generated components of lib/api-schema.d.ts (see lib/types.ts). */
import type { components } from "@/lib/api-schema";

type Schemas = components["schemas"];

export type MetricsWindow = Pick<Schemas["WorkflowMetrics"], "since" | "until">;

/** A workflow's (or, with step_key, a step's) figures over the window. Durations in ms;
 * failure_rate is failures / runs, 0..1, null without runs. */
export type Figures = Schemas["Figures"];

export type StepFigures = Schemas["StepFigures"];

export type WorkflowMetrics = Schemas["WorkflowMetrics"];

export type StepMetrics = Schemas["StepMetrics"];

export type ThroughputBucket = Schemas["Bucket"];

export type Throughput = Schemas["Throughput"];

/** `waiting`: running runs with a step waiting for a timer or a signal. */
export type RunningCounts = Schemas["RunningTotals"];

export type RunningRow = Schemas["RunningRow"];

export type Running = Schemas["Running"];

export type ErrorStep = Schemas["ErrorStep"];

/** `count`: failed attempts in the window; `executions`: the runs they belong to. */
export type ErrorGroup = Schemas["ErrorGroup"];

export type Errors = Schemas["Errors"];

/** `retried` is false for a dry run. */
export type ErrorRetryResult = Schemas["ErrorRetryResult"];
