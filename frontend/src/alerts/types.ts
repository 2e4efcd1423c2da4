/** The shapes of the alert rules API (/api/v1/alert-rules/), as monitoring/alerts_api.py answers them:
 * names for the generated components of lib/api-schema.d.ts (see lib/types.ts). */
import type { components } from "@/lib/api-schema";

type Schemas = components["schemas"];

export type AlertKind = Schemas["AlertKindEnum"];
export type AlertState = Schemas["AlertRuleStateEnum"];
export type ChannelType = Schemas["AlertChannelTypeEnum"];

export const ALERT_KINDS: { value: AlertKind; label: string }[] = [
  { value: "failure_rate", label: "Failure rate above a threshold" },
  { value: "p95_duration", label: "p95 duration above a threshold" },
  { value: "no_success", label: "No successful run for a while" },
];

/** email: `to`; slack and webhook: `url` or `credential` (the name of a stored credential), one of them. */
export type Channel = Schemas["Channel"];

/** threshold: for failure_rate a fraction (0.10 = 10%), for p95_duration seconds; last_value: the
 * measure at the last evaluation (a fraction, seconds or hours, by kind). */
export type AlertRule = Schemas["AlertRule"];

export type AlertRuleInput = Schemas["AlertRuleInput"];

export type Delivery = Schemas["Delivery"];

export type AlertEvent = Schemas["AlertEvent"];

export type TestResult = Schemas["TestResult"];
