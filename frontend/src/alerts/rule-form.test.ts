import { describeCondition, emptyChannel, emptyRuleForm, formatMeasure, formToPayload, ruleToForm, validateRuleForm, type RuleForm } from "./rule-form";
import type { AlertRule } from "./types";

const form = (patch: Partial<RuleForm> = {}): RuleForm => ({ ...emptyRuleForm(), name: "Registrations failing", ...patch });

describe("validateRuleForm", () => {
  it("accepts the defaults with a name", () => {
    expect(validateRuleForm(form())).toEqual({});
  });

  it("needs a name", () => {
    expect(validateRuleForm(form({ name: "  " }))).toEqual({ name: "Give the rule a name." });
  });

  it("reads a failure rate threshold as a percentage below 100", () => {
    expect(validateRuleForm(form({ thresholdPercent: "100" })).threshold).toMatch(/percentage/);
    expect(validateRuleForm(form({ thresholdPercent: "-1" })).threshold).toBeDefined();
    expect(validateRuleForm(form({ thresholdPercent: "" })).threshold).toBeDefined();
    expect(validateRuleForm(form({ thresholdPercent: "12.5" }))).toEqual({});
  });

  it("checks only the fields of the chosen kind", () => {
    const p95 = form({ kind: "p95_duration", thresholdSeconds: "0", thresholdPercent: "500" });
    expect(validateRuleForm(p95)).toEqual({ threshold: "A number of seconds above 0." });
    const quiet = form({ kind: "no_success", hours: "0", windowMinutes: "nonsense", thresholdPercent: "500" });
    expect(validateRuleForm(quiet)).toEqual({ hours: "A number of hours above 0 (at most a year)." });
  });

  it("wants whole minutes within a week, and whole runs", () => {
    const errors = validateRuleForm(form({ windowMinutes: "1.5", minRuns: "-2", cooldownMinutes: "20000" }));
    expect(Object.keys(errors).sort()).toEqual(["cooldown_minutes", "min_runs", "window_minutes"]);
  });

  it("checks each channel under its API path", () => {
    const errors = validateRuleForm(form({ channels: [
      { ...emptyChannel("email"), to: "ops@example.com, not-an-address" },
      { ...emptyChannel("slack"), mode: "credential", credential: "" },
      { ...emptyChannel("webhook"), mode: "url", url: "ftp://example.com/x" },
      { ...emptyChannel("email"), to: "" },
    ] }));
    expect(errors).toEqual({
      "channels[0].to": "Not an email address: not-an-address",
      "channels[1].credential": "The name of a stored credential holding the URL.",
      "channels[2].url": "An http(s) URL.",
      "channels[3].to": "At least one address.",
    });
  });
});

describe("formToPayload", () => {
  it("turns the percentage into the API's fraction and lists the channels", () => {
    const payload = formToPayload(form({
      workflowId: "wf-1", stepKey: " create_patient ", thresholdPercent: "30", windowMinutes: "60", minRuns: "5",
      channels: [
        { ...emptyChannel("email"), to: "ops@example.com oncall@example.com" },
        { ...emptyChannel("slack"), mode: "credential", credential: "SLACK_WEBHOOK_URL" },
        { ...emptyChannel("webhook"), mode: "url", url: "https://hooks.example.com/a" },
      ],
    }));
    expect(payload).toEqual({
      name: "Registrations failing", enabled: true, workflow_id: "wf-1", step_key: "create_patient", kind: "failure_rate",
      threshold: 0.3, window_minutes: 60, min_runs: 5, hours: null, cooldown_minutes: 60,
      channels: [
        { type: "email", to: ["ops@example.com", "oncall@example.com"] },
        { type: "slack", credential: "SLACK_WEBHOOK_URL" },
        { type: "webhook", url: "https://hooks.example.com/a" },
      ],
    });
  });

  it("sends seconds for p95 and hours for no_success, with no threshold", () => {
    expect(formToPayload(form({ kind: "p95_duration", thresholdSeconds: "2.5" })).threshold).toBe(2.5);
    const quiet = formToPayload(form({ kind: "no_success", hours: "6" }));
    expect([quiet.threshold, quiet.hours, quiet.workflow_id]).toEqual([null, 6, null]);
  });

  it("reads a saved rule back into the same form", () => {
    const rule = {
      id: 1, name: "r", enabled: false, workflow_id: null, step_key: "", kind: "failure_rate", threshold: 0.07,
      window_minutes: 30, min_runs: 10, hours: null, cooldown_minutes: 5, state: "ok",
      channels: [{ type: "slack", url: "https://hooks.slack.com/x" }],
    } as unknown as AlertRule;
    const back = ruleToForm(rule);
    expect(back.thresholdPercent).toBe("7");
    expect(back.channels).toEqual([{ type: "slack", to: "", mode: "url", credential: "", url: "https://hooks.slack.com/x" }]);
    expect(formToPayload(back)).toMatchObject({ threshold: 0.07, window_minutes: 30, min_runs: 10, enabled: false, cooldown_minutes: 5 });
  });
});

describe("describing a rule", () => {
  it("writes measures in the kind's unit", () => {
    expect(formatMeasure("failure_rate", 0.3)).toBe("30%");
    expect(formatMeasure("p95_duration", 90)).toBe("1 min 30 s");
    expect(formatMeasure("no_success", 26.04)).toBe("26 h");
    expect(describeCondition({ kind: "failure_rate", threshold: 0.1, window_minutes: 15, min_runs: 20, hours: null }))
      .toBe("failure rate > 10% over 15 min (min 20 runs)");
  });
});
