import { STEP_TYPES } from "@/designer/__fixtures__/step-types";

import { applySuggestion, filterSuggestions, templateContext, templateSuggestions } from "./template-hints";

const types = Object.fromEntries(STEP_TYPES.map((t) => [t.name, t]));
const steps = [
  { key: "fetch", name: "Fetch user", task_type: "http_request", depends_on: [] },
  { key: "route", name: "Route", task_type: "conditional", depends_on: ["fetch"] },
  { key: "mail", name: "Mail", task_type: "send_email", depends_on: ["route:true"] },
  { key: "other", name: "Other", task_type: "log", depends_on: [] },
];

describe("template hints", () => {
  it("offer input, every upstream step's output fields, and secrets", () => {
    const values = templateSuggestions(steps, types, "mail", ["crm_token"]).map((s) => s.value);
    expect(values).toContain("input.");
    expect(values).toEqual(expect.arrayContaining([
      "steps.fetch.output", "steps.fetch.output.status_code", "steps.fetch.output.body", "steps.route.output.branch",
      "secrets.crm_token",
    ]));
    // Not upstream: neither the step itself nor an unrelated one.
    expect(values.some((v) => v.startsWith("steps.other") || v.startsWith("steps.mail"))).toBe(false);
  });

  it("offer the approval steps' signed links, upstream or beside, never a step's own", () => {
    const flow = [
      { key: "start", name: "Start", task_type: "log", depends_on: [] },
      { key: "review", name: "Review", task_type: "approval", depends_on: ["start"] },
      { key: "notify", name: "Notify", task_type: "send_email", depends_on: ["start"] },
    ];
    const values = templateSuggestions(flow, types, "notify").map((s) => s.value);
    expect(values).toEqual(expect.arrayContaining(["approvals.review.approve_url", "approvals.review.reject_url"]));
    expect(templateSuggestions(flow, types, "review").some((s) => s.value.startsWith("approvals."))).toBe(false);
    expect(templateSuggestions(steps, types, "mail").some((s) => s.value.startsWith("approvals."))).toBe(false);
  });

  it("know when the caret is in an open {{", () => {
    expect(templateContext("Hi {{ steps.fe", 14)).toEqual({ start: 6, query: "steps.fe" });
    expect(templateContext("Hi {{", 5)).toEqual({ start: 5, query: "" });
    expect(templateContext("Hi {{ x }} there", 16)).toBeNull();
    expect(templateContext("plain", 5)).toBeNull();
  });

  it("filter by what was typed, prefixes first", () => {
    const all = templateSuggestions(steps, types, "mail");
    expect(filterSuggestions(all, "steps.route").map((s) => s.value)).toEqual(["steps.route.output", "steps.route.output.branch"]);
    expect(filterSuggestions(all, "status")[0].value).toBe("steps.fetch.output.status_code");
  });

  it("insert a suggestion and close the template", () => {
    const text = "Hi {{ steps.fe";
    const result = applySuggestion(text, templateContext(text, text.length)!, "steps.fetch.output.body");
    expect(result.text).toBe("Hi {{ steps.fetch.output.body }}");
    expect(result.caret).toBe(result.text.length);
    const open = applySuggestion("{{", { start: 2, query: "" }, "input.");
    expect(open).toEqual({ text: "{{ input.", caret: 9 });
    const closed = "{{ inp }} end";
    expect(applySuggestion(closed, templateContext(closed, 6)!, "input.email").text).toBe("{{ input.email }} end");
  });
});
