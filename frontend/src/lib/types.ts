/** The shapes of FlowPilot's REST API (/api/v1/), as the designer and the monitor use them: names for
 * the components of api-schema.d.ts, which openapi-typescript generates from the server's OpenAPI
 * schema (`make api-types`; workflows/tests/test_api_types.py fails when it is out of date). Where a
 * shape is wrong here, fix the serializer's schema and regenerate: don't write the type by hand. */
import type { components, operations } from "./api-schema";

type Schemas = components["schemas"];

export type WorkflowStatus = Schemas["WorkflowStatusEnum"];
export type ExecutionStatus = Schemas["ExecutionStatusEnum"];
export type TaskStatus = Schemas["TaskExecutionStatusEnum"];
export type TriggerSource = Schemas["TriggeredByEnum"];
export type LogLevel = Schemas["LevelEnum"];

export const TASK_STATUSES: TaskStatus[] = [
  "pending", "queued", "running", "waiting", "retrying", "completed", "failed", "skipped", "cancelled",
];
export const EXECUTION_STATUSES: ExecutionStatus[] = ["pending", "running", "paused", "completed", "failed", "cancelled"];

export type Position = Schemas["PositionField"];

/** A step of a workflow definition, as GET /workflows/<id>/ answers it (every field present, with
 * its id) and PUT/POST /workflows/ take it back (the id, which the server ignores, left out when new). */
/** A step as the designer edits it: continue_on_failure optional, as the API takes it (default false). */
export type StepDefinition = Omit<Schemas["StepOutput"], "id" | "continue_on_failure" | "compensate_with"> & {
  id?: number; continue_on_failure?: boolean; compensate_with?: string;
};

/** "designed" on the canvas, or "code": a Python class (read-only here; its graph is read from the code). */
export type WorkflowKind = Schemas["WorkflowKindEnum"];
/** How a code step moves on: goto(step), then (after the signal or event it waits for), a wait's
 * timeout (on_timeout), sleep (the same step runs again after a timer). */
export type CodeMoveKind = Schemas["CodeEdgeKindEnum"];

/** A step of a code workflow, as GET /workflows/<id>/ `code.steps` carries it. */
export type CodeStep = Schemas["CodeStep"];

/** A move between code steps, as GET /workflows/<id>/ `code.edges` carries it. */
export type CodeEdge = Schemas["CodeEdge"];

/** The same move in a code workflow version's stored definition. */
export type DefinitionEdge = Schemas["DefinitionEdge"];

/** A code workflow's graph, read from its class. */
export type CodeGraph = Schemas["CodeGraph"];

export type Workflow = Schemas["Workflow"];

/** What PUT/POST /workflows/ accept. */
export type WorkflowInput = Schemas["WorkflowInput"];

/** A step of a published version's definition: its retry settings nested in `retry`, not the flat
 * fields of StepDefinition; a code workflow's with `start` and `action`. */
export type VersionStep = Schemas["DefinitionStep"];

/** A published version. Its definition (the WorkflowDefinition component) is the frozen document the
 * engine runs, served as stored: a code workflow's has `kind`, `code` and `edges` (its steps have no
 * depends_on); versions published before positions were kept have steps without `position`. */
export type WorkflowVersion = Schemas["WorkflowVersion"];

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
export type Limits = operations["limits_retrieve"]["responses"][200]["content"]["application/json"];
export type Bound = Limits[string];

/** POST /api/v1/workflows/validate/: what a save of the same body would refuse, by field path. */
export type WorkflowValidation = Schemas["WorkflowValidation"];

/** A step type. Its schemas are JSON Schemas, which the form generator reads as JsonSchema (the
 * OpenAPI schema can only call them objects). */
/** POST /api/v1/step-types/<name>/try/: one run of the step on sample data, nothing stored. */
export type StepTryResult = Schemas["StepTryResult"];

export type StepType = Omit<Schemas["StepType"], "config_schema" | "output_schema"> & {
  config_schema: JsonSchema;
  output_schema: JsonSchema;
};

/** The commands a run as a whole can take (the server's states.EXECUTION_ACTIONS). */
export type ExecutionAction = Schemas["AllowedActionsEnum"];

/** One attempt of a step. The server marks each step's current attempt (`is_latest`): read it, don't work it out. */
export type TaskExecution = Schemas["TaskExecution"];

/** A run; `allowed_actions` are what it may do now, from the server's state table: the UI shows these and no others. */
export type Execution = Schemas["Execution"];

export type ExecutionDetail = Schemas["ExecutionDetail"];

/** A workflow's pinned data (GET/PUT /api/v1/workflows/<id>/pinned-data/): the sample run input and each
 * step's recorded input and output, for "Test this step" and the Run dialog; never read by a run. */
export type PinnedData = Schemas["PinnedData"];
export type PinnedStep = Schemas["PinnedStep"];

export type ExecutionLog = Schemas["ExecutionLog"];

export type ExecutionLogPage = Schemas["ExecutionLogPage"];

/** POST /api/v1/executions/retry-failed/: what was (or, with dry_run, would be) retried. */
export type BulkRetryResult = Schemas["BulkRetryResult"];
export type BulkRerunResult = Schemas["BulkRerunResult"];

export type User = Schemas["User"];

/** A stored credential as the API shows it: never its value. */
export type Credential = Schemas["Credential"];

/** GET /api/v1/executions/<id>/why/: why the run, and each of its steps that is not running, is where it is. */
export type ExecutionWhy = Schemas["ExecutionWhy"];
export type WhyReason = Schemas["WhyReason"];
export type WhyReasonCode = Schemas["WhyReasonEnum"];
