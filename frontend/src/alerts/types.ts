/** The shapes of the alert rules API (/api/v1/alert-rules/), as monitoring/alerts_api.py answers them. */

export type AlertKind = "failure_rate" | "p95_duration" | "no_success";
export type AlertState = "ok" | "firing";
export type ChannelType = "email" | "slack" | "webhook";

export const ALERT_KINDS: { value: AlertKind; label: string }[] = [
  { value: "failure_rate", label: "Failure rate above a threshold" },
  { value: "p95_duration", label: "p95 duration above a threshold" },
  { value: "no_success", label: "No successful run for a while" },
];

/** email: `to`; slack and webhook: `url` or `credential` (the name of a stored credential), one of them. */
export interface Channel {
  type: ChannelType;
  to?: string[];
  url?: string;
  credential?: string;
}

export interface AlertRule {
  id: number;
  name: string;
  enabled: boolean;
  workflow_id: string | null;
  step_key: string;
  kind: AlertKind;
  /** failure_rate: a fraction (0.10 = 10%); p95_duration: seconds. */
  threshold: number | null;
  window_minutes: number;
  min_runs: number;
  hours: number | null;
  cooldown_minutes: number;
  channels: Channel[];
  state: AlertState;
  since: string | null;
  /** The measure at the last evaluation: a fraction, seconds or hours, by kind. */
  last_value: number | null;
  last_runs: number | null;
  last_evaluated_at: string | null;
  last_notified_at: string | null;
  created_at: string;
  updated_at: string;
}

export interface AlertRuleInput {
  name: string;
  enabled: boolean;
  workflow_id: string | null;
  step_key: string;
  kind: AlertKind;
  threshold: number | null;
  window_minutes: number;
  min_runs: number;
  hours: number | null;
  cooldown_minutes: number;
  channels: Channel[];
}

export interface Delivery {
  channel: number;
  type: string;
  target: string;
  ok: boolean;
  error: string;
}

export interface AlertEvent {
  id: number;
  rule_id: number;
  state: "firing" | "resolved";
  value: number | null;
  runs: number | null;
  message: string;
  deliveries: Delivery[];
  created_at: string;
}

export interface TestResult {
  ok: boolean;
  deliveries: Delivery[];
}
