/** The shapes of the metrics API (/api/v1/metrics/...), as monitoring/api.py answers them. */

export interface MetricsWindow {
  since: string;
  until: string;
}

/** A workflow's (or, with step_key, a step's) figures over the window. Durations in ms. */
export interface Figures {
  workflow_id: string;
  workflow_name: string;
  runs: number;
  failures: number;
  /** failures / runs, 0..1; null without runs. */
  failure_rate: number | null;
  retries: number;
  p50_ms: number | null;
  p95_ms: number | null;
  max_ms: number | null;
  last_success_at: string | null;
}

export interface StepFigures extends Figures {
  step_key: string;
}

export interface WorkflowMetrics extends MetricsWindow {
  workflows: Figures[];
}

export interface StepMetrics extends MetricsWindow {
  steps: StepFigures[];
}

export interface ThroughputBucket {
  start: string;
  started: number;
  completed: number;
  failed: number;
}

export interface Throughput extends MetricsWindow {
  bucket_seconds: number;
  buckets: ThroughputBucket[];
}

export interface RunningCounts {
  pending: number;
  running: number;
  /** Running runs with a step waiting for a timer or a signal. */
  waiting: number;
  steps_queued: number;
  steps_running: number;
  steps_waiting: number;
  steps_retrying: number;
}

export interface RunningRow extends RunningCounts {
  workflow_id: string;
  workflow_name: string;
}

export interface Running {
  at: string;
  totals: RunningCounts;
  workflows: RunningRow[];
}

export interface ErrorStep {
  workflow_id: string;
  workflow_name: string;
  step_key: string;
  count: number;
}

export interface ErrorGroup {
  signature: string;
  pattern: string;
  /** Failed attempts in the window. */
  count: number;
  /** Runs they belong to. */
  executions: number;
  first_seen: string;
  last_seen: string;
  sample_message: string;
  steps: ErrorStep[];
}

export interface Errors extends MetricsWindow {
  groups: ErrorGroup[];
}

export interface ErrorRetryResult {
  /** False for a dry run. */
  retried: boolean;
  count: number;
  execution_ids: string[];
}
