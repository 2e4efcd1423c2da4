/** The alert rule form's state (strings, as typed), its checks, and the API payload it stands for.
 * The checks mirror the server's (monitoring/alert_services.py, notify.py) so most mistakes are
 * shown before saving; errors are keyed by the API's field paths, so the server's land in the same
 * places. Pure. */
import { formatMs, formatRate } from "@/dashboard/format";

import type { AlertKind, AlertRule, AlertRuleInput, Channel, ChannelType } from "./types";

export interface ChannelForm {
  type: ChannelType;
  /** email: addresses separated by commas or spaces. */
  to: string;
  /** slack, webhook: give the URL itself, or the name of a stored credential holding it. */
  mode: "credential" | "url";
  credential: string;
  url: string;
}

export interface RuleForm {
  name: string;
  enabled: boolean;
  workflowId: string;
  stepKey: string;
  kind: AlertKind;
  /** failure_rate, as a percentage. */
  thresholdPercent: string;
  /** p95_duration, in seconds. */
  thresholdSeconds: string;
  windowMinutes: string;
  minRuns: string;
  hours: string;
  cooldownMinutes: string;
  channels: ChannelForm[];
}

export type FormErrors = Record<string, string>;

export const WEEK_MINUTES = 7 * 24 * 60;
export const MAX_CHANNELS = 10;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

export function emptyChannel(type: ChannelType = "email"): ChannelForm {
  return { type, to: "", mode: type === "email" ? "url" : "credential", credential: "", url: "" };
}

export function emptyRuleForm(): RuleForm {
  return {
    name: "", enabled: true, workflowId: "", stepKey: "", kind: "failure_rate", thresholdPercent: "10",
    thresholdSeconds: "60", windowMinutes: "15", minRuns: "20", hours: "24", cooldownMinutes: "60", channels: [],
  };
}

const numberText = (value: number | null | undefined, fallback: string) =>
  value === null || value === undefined ? fallback : String(Number(value.toPrecision(12)));

export function ruleToForm(rule: AlertRule): RuleForm {
  const base = emptyRuleForm();
  return {
    name: rule.name,
    enabled: rule.enabled,
    workflowId: rule.workflow_id ?? "",
    stepKey: rule.step_key,
    kind: rule.kind,
    thresholdPercent: rule.kind === "failure_rate" ? numberText(rule.threshold === null ? null : rule.threshold * 100, base.thresholdPercent) : base.thresholdPercent,
    thresholdSeconds: rule.kind === "p95_duration" ? numberText(rule.threshold, base.thresholdSeconds) : base.thresholdSeconds,
    windowMinutes: String(rule.window_minutes),
    minRuns: String(rule.min_runs),
    hours: numberText(rule.hours, base.hours),
    cooldownMinutes: String(rule.cooldown_minutes),
    channels: rule.channels.map((channel) => ({
      type: channel.type,
      to: (channel.to ?? []).join(", "),
      mode: channel.credential !== undefined ? "credential" : "url",
      credential: channel.credential ?? "",
      url: channel.url ?? "",
    })),
  };
}

function parseNumber(text: string): number {
  return text.trim() === "" ? Number.NaN : Number(text.trim());
}

function wholeNumberIn(text: string, min: number, max: number): boolean {
  const n = parseNumber(text);
  return Number.isInteger(n) && n >= min && n <= max;
}

export function addresses(text: string): string[] {
  return text.split(/[\s,;]+/).map((a) => a.trim()).filter(Boolean);
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text.trim());
    return (url.protocol === "http:" || url.protocol === "https:") && Boolean(url.hostname);
  } catch {
    return false;
  }
}

export function validateRuleForm(form: RuleForm): FormErrors {
  const errors: FormErrors = {};
  if (!form.name.trim()) errors.name = "Give the rule a name.";
  else if (form.name.trim().length > 200) errors.name = "At most 200 characters.";
  if (form.kind === "failure_rate") {
    const percent = parseNumber(form.thresholdPercent);
    if (!(percent >= 0 && percent < 100)) errors.threshold = "A percentage from 0 up to (not including) 100.";
  }
  if (form.kind === "p95_duration") {
    const seconds = parseNumber(form.thresholdSeconds);
    if (!(seconds > 0 && seconds <= 1e9)) errors.threshold = "A number of seconds above 0.";
  }
  if (form.kind === "no_success") {
    const hours = parseNumber(form.hours);
    if (!(hours > 0 && hours <= 24 * 365)) errors.hours = "A number of hours above 0 (at most a year).";
  } else {
    if (!wholeNumberIn(form.windowMinutes, 1, WEEK_MINUTES)) errors.window_minutes = `Whole minutes from 1 to ${WEEK_MINUTES} (a week).`;
    if (!wholeNumberIn(form.minRuns, 0, 2 ** 31 - 1)) errors.min_runs = "A whole number, 0 or more.";
  }
  if (!wholeNumberIn(form.cooldownMinutes, 0, WEEK_MINUTES)) errors.cooldown_minutes = `Whole minutes from 0 to ${WEEK_MINUTES} (a week).`;
  if (form.channels.length > MAX_CHANNELS) errors.channels = `At most ${MAX_CHANNELS} channels.`;
  form.channels.forEach((channel, index) => {
    const path = `channels[${index}]`;
    if (channel.type === "email") {
      const to = addresses(channel.to);
      const bad = to.filter((address) => !EMAIL.test(address));
      if (!to.length) errors[`${path}.to`] = "At least one address.";
      else if (bad.length) errors[`${path}.to`] = `Not an email address: ${bad.join(", ")}`;
    } else if (channel.mode === "credential") {
      if (!channel.credential.trim()) errors[`${path}.credential`] = "The name of a stored credential holding the URL.";
    } else if (!isHttpUrl(channel.url)) {
      errors[`${path}.url`] = "An http(s) URL.";
    }
  });
  return errors;
}

function channelPayload(channel: ChannelForm): Channel {
  if (channel.type === "email") return { type: "email", to: addresses(channel.to) };
  return channel.mode === "credential"
    ? { type: channel.type, credential: channel.credential.trim() }
    : { type: channel.type, url: channel.url.trim() };
}

/** The POST/PUT body for a valid form (check it with validateRuleForm first). */
export function formToPayload(form: RuleForm): AlertRuleInput {
  const base = {
    name: form.name.trim(),
    enabled: form.enabled,
    workflow_id: form.workflowId || null,
    step_key: form.stepKey.trim(),
    kind: form.kind,
    cooldown_minutes: parseNumber(form.cooldownMinutes),
    channels: form.channels.map(channelPayload),
    window_minutes: 15,
    min_runs: 20,
    threshold: null,
    hours: null,
  };
  if (form.kind === "no_success") return { ...base, hours: parseNumber(form.hours) };
  const measured = { ...base, window_minutes: parseNumber(form.windowMinutes), min_runs: parseNumber(form.minRuns) };
  return form.kind === "failure_rate"
    ? { ...measured, threshold: Number((parseNumber(form.thresholdPercent) / 100).toPrecision(12)) }
    : { ...measured, threshold: parseNumber(form.thresholdSeconds) };
}

/** A rule's measure (threshold or last value) as it reads: "10%", "1 min 30 s", "26 h". */
export function formatMeasure(kind: AlertKind, value: number | null): string {
  if (value === null) return "—";
  if (kind === "failure_rate") return formatRate(value);
  if (kind === "p95_duration") return formatMs(value * 1000);
  return `${Number(value.toFixed(1))} h`;
}

/** What the rule watches for, in a phrase: "failure rate > 10% over 15 min (min 20 runs)". */
export function describeCondition(rule: Pick<AlertRule, "kind" | "threshold" | "window_minutes" | "min_runs" | "hours">): string {
  if (rule.kind === "no_success") return `no success in ${formatMeasure("no_success", rule.hours)}`;
  const what = rule.kind === "failure_rate" ? "failure rate" : "p95 duration";
  return `${what} > ${formatMeasure(rule.kind, rule.threshold)} over ${rule.window_minutes} min (min ${rule.min_runs} runs)`;
}
