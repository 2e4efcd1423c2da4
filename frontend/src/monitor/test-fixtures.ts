/** Builders of API shapes for the monitor's tests. */
import type { ExecutionDetail, TaskExecution, VersionStep } from "@/lib/types";

let n = 0;

/** A step of a version's definition, as GET /workflows/<id>/versions/ serves it. */
export function step(key: string, depends_on: string[] = [], extra: Partial<VersionStep> = {}): VersionStep {
  return {
    key, name: key.replace(/_/g, " "), task_type: "http_request", config: {}, depends_on, step_order: 0,
    timeout_seconds: null, when: "", retry: {}, position: { x: 0, y: 0 }, ...extra,
  };
}

export function task(step_key: string, extra: Partial<TaskExecution> = {}): TaskExecution {
  n += 1;
  return {
    id: `t${n}`,
    step_key,
    task_type: "http_request",
    status: "completed",
    attempt_number: 1,
    visit: 1,
    is_latest: true, // the step's only row; a test with earlier attempts marks those false, as the server does
    workflow_version: 1,
    awaiting: null,
    signal_name: "",
    idempotency_key: `e:${step_key}`,
    input_data: {},
    output_data: {},
    error_message: "",
    error_details: {},
    created_at: "2026-01-01T10:00:00Z",
    queued_at: "2026-01-01T10:00:00Z",
    started_at: "2026-01-01T10:00:01Z",
    completed_at: "2026-01-01T10:00:02Z",
    wake_at: null,
    worker_id: "worker-1",
    mocked: false,
    compensates: "",
    ...extra,
  };
}

export function execution(tasks: TaskExecution[], extra: Partial<ExecutionDetail> = {}): ExecutionDetail {
  return {
    id: "11111111-1111-1111-1111-111111111111",
    workflow: "22222222-2222-2222-2222-222222222222",
    workflow_name: "New user signup",
    workflow_version: 1,
    retry_latest: null,
    status: "running",
    allowed_actions: ["cancel"],
    idempotency_key: null,
    input_data: { email: "ada@example.com" },
    output_data: null,
    error_message: "",
    error_details: {},
    phase: "",
    compensation: {},
    retry_count: 0,
    max_retries: null,
    triggered_by: "api",
    triggered_by_user: "admin",
    concurrency_key: "",
    priority: 0,
    limit_key: "",
    rate_slot_at: null,
    search: {},
    created_at: "2026-01-01T10:00:00Z",
    scheduled_at: null,
    started_at: "2026-01-01T10:00:00Z",
    completed_at: null,
    replay_of: null,
    is_replay: false,
    test_run: false,
    handled_failures: [],
    task_executions: tasks,
    overrides: {},
    overridden_by: null,
    overridden_at: null,
    ...extra,
  };
}

/** The example workflow's shape: email, a pro/basic branch, a join and a notification. */
export const SIGNUP_STEPS: VersionStep[] = [
  step("send_welcome"),
  step("check_plan", ["send_welcome"], { task_type: "conditional" }),
  step("crm_pro", ["check_plan:pro"]),
  step("crm_basic", ["check_plan:basic"]),
  step("join", ["crm_pro", "crm_basic"]),
  step("notify_slack", ["join"]),
];
