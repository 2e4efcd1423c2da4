/** The shapes of FlowPilot's REST API (/api/v1/), as the designer and the monitor use them. */

export type WorkflowStatus = "draft" | "active" | "archived";
export type ExecutionStatus = "pending" | "running" | "completed" | "failed" | "cancelled";
export type TaskStatus =
  | "pending" | "queued" | "running" | "waiting" | "retrying" | "completed" | "failed" | "skipped" | "cancelled";
export type TriggerSource = "api" | "manual" | "webhook" | "schedule" | "event" | "python" | "workflow";
export type LogLevel = "debug" | "info" | "warning" | "error";

export const TASK_STATUSES: TaskStatus[] = [
  "pending", "queued", "running", "waiting", "retrying", "completed", "failed", "skipped", "cancelled",
];
export const EXECUTION_STATUSES: ExecutionStatus[] = ["pending", "running", "completed", "failed", "cancelled"];

export interface Position {
  x: number;
  y: number;
}

/** A step of a workflow definition, as GET/PUT /workflows/<id>/ carry it. */
export interface StepDefinition {
  id?: number;
  key: string;
  name: string;
  task_type: string;
  config: Record<string, unknown>;
  /** Step keys; "key:branch" to run only on that branch of a conditional step. */
  depends_on: string[];
  step_order: number;
  max_retries?: number | null;
  retry_base_delay?: number | null;
  retry_backoff_factor?: number | null;
  retry_max_delay?: number | null;
  timeout_seconds?: number | null;
  when?: string;
  position: Position;
}

/** "designed" on the canvas, or "code": a Python class (read-only here; its graph is read from the code). */
export type WorkflowKind = "designed" | "code";
/** How a code step moves on: goto(step), then (after the signal or event it waits for), a wait's
 * timeout (on_timeout), sleep (the same step runs again after a timer). */
export type CodeMoveKind = "goto" | "then" | "timeout" | "sleep";

/** A step of a code workflow, as GET /workflows/<id>/ `code.steps` carries it. */
export interface CodeStep {
  key: string;
  start: boolean;
  /** The action (POST /api/v1/actions/<name>/) feeding it, or "". */
  action: string;
  timeout_seconds: number | null;
  retry: Record<string, unknown>;
}

/** A move between code steps, as GET /workflows/<id>/ `code.edges` carries it. */
export interface CodeEdge {
  source: string;
  target: string;
  kind: CodeMoveKind;
}

/** The same move in a code workflow version's stored definition. */
export interface DefinitionEdge {
  from: string;
  to: string;
  kind: CodeMoveKind;
}

/** A code workflow's graph, read from its class. */
export interface CodeGraph {
  workflow_class: string;
  start: string;
  event_name: string;
  offset_minutes: number;
  steps: CodeStep[];
  edges: CodeEdge[];
}

export interface Workflow {
  id: string;
  name: string;
  description: string;
  status: WorkflowStatus;
  kind: WorkflowKind;
  /** For a code workflow: its graph; null for a designed one. */
  code: CodeGraph | null;
  version: number;
  metadata: Record<string, unknown>;
  owner: string;
  max_concurrency: number | null;
  concurrency_key: string;
  max_retries: number | null;
  retry_base_delay: number | null;
  retry_backoff_factor: number | null;
  retry_max_delay: number | null;
  steps: StepDefinition[];
  created_at: string;
  updated_at: string;
}

/** What PUT/POST /workflows/ accept. */
export interface WorkflowInput {
  name: string;
  description?: string;
  status?: WorkflowStatus;
  metadata?: Record<string, unknown>;
  steps?: StepDefinition[];
}

export interface WorkflowVersion {
  number: number;
  /** A code workflow's version has `edges` (its steps have no depends_on). */
  definition: { steps?: StepDefinition[]; edges?: DefinitionEdge[]; [key: string]: unknown };
  created_at: string;
  created_by: string | null;
}

/** A JSON Schema, as far as the form generator reads it. */
export interface JsonSchema {
  type?: string | string[];
  title?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  format?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  pattern?: string;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  examples?: unknown[];
  [key: string]: unknown;
}

/** GET /api/v1/limits/: the server's bound on each number a workflow can set, by field name; for
 * "step_key", the bounds of its length, the pattern it must match and the message when it does not. */
export interface Bound {
  min: number;
  max: number;
  pattern?: string;
  message?: string;
}
export type Limits = Record<string, Bound>;

/** POST /api/v1/workflows/validate/: what a save of the same body would refuse, by field path. */
export interface WorkflowValidation {
  valid: boolean;
  errors: Record<string, string[]>;
}

export interface StepType {
  name: string;
  description: string;
  category: string;
  config_schema: JsonSchema;
  output_schema: JsonSchema;
  example: Record<string, unknown>;
  /** What the example's templates render over ({input, steps}): sample data to try it with. */
  example_data?: Record<string, unknown>;
  branches: string[] | null;
}

/** The commands a run as a whole can take (the server's states.EXECUTION_ACTIONS). */
export type ExecutionAction = "retry" | "cancel";

export interface TaskExecution {
  id: string;
  step_key: string;
  task_type: string;
  status: TaskStatus;
  attempt_number: number;
  visit: number;
  /** The server marks each step's current attempt (the one whose status the step shows): read it, don't work it out. */
  is_latest: boolean;
  idempotency_key: string;
  input_data: unknown;
  output_data: unknown;
  error_message: string;
  error_details: { traceback?: string; [key: string]: unknown } | null;
  created_at: string;
  queued_at: string | null;
  started_at: string | null;
  completed_at: string | null;
  wake_at: string | null;
  worker_id: string;
}

export interface Execution {
  id: string;
  workflow: string;
  workflow_name: string;
  workflow_version: number;
  status: ExecutionStatus;
  /** What the run may do now (POST executions/<id>/<action>/), from the server's state table: the UI shows these and no others. */
  allowed_actions: ExecutionAction[];
  idempotency_key: string | null;
  input_data: Record<string, unknown>;
  output_data: unknown;
  error_message: string;
  error_details: Record<string, unknown> | null;
  retry_count: number;
  triggered_by: TriggerSource;
  triggered_by_user: string | null;
  concurrency_key: string;
  created_at: string;
  scheduled_at: string | null;
  started_at: string | null;
  completed_at: string | null;
}

export interface ExecutionDetail extends Execution {
  task_executions: TaskExecution[];
}

export interface ExecutionLog {
  id: number;
  timestamp: string;
  level: LogLevel;
  event: string;
  step_key: string;
  task_execution: string | null;
  message: string;
  details: Record<string, unknown>;
}

export interface ExecutionLogPage {
  count: number;
  limit: number;
  offset: number;
  logs: ExecutionLog[];
}

export interface User {
  id: number;
  username: string;
  email: string;
}
