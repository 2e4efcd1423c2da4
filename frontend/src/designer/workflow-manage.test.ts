import { describe, expect, it } from "vitest";

import type { Workflow } from "@/lib/types";

import { exportFileName, limitsBody, limitsForm, parseImportFile, settingsBody, settingsForm } from "./workflow-manage";

const workflow = {
  id: "w1", name: "Signup", description: "d", max_retries: 3, retry_base_delay: null, retry_backoff_factor: 2,
  retry_max_delay: null, max_concurrency: null, concurrency_key: "{{ input.email }}",
  search_fields: { phone: "{{ input.phone }}" },
} as unknown as Workflow;

describe("workflow settings form", () => {
  it("shows the stored values as text, empty for the defaults", () => {
    expect(settingsForm(workflow)).toEqual({
      description: "d", error_workflow_id: "", concurrency_key: "{{ input.email }}", max_retries: "3", retry_base_delay: "",
      retry_backoff_factor: "2", retry_max_delay: "", max_concurrency: "",
      search_fields: [{ name: "phone", template: "{{ input.phone }}" }],
    });
  });

  it("sends numbers as numbers, empty as null, and anything else as typed for the server to refuse", () => {
    const form = { ...settingsForm(workflow), max_retries: " 5 ", retry_base_delay: "", max_concurrency: "two", concurrency_key: "  " };
    expect(settingsBody(form)).toEqual({
      description: "d", error_workflow_id: null, concurrency_key: "", max_retries: 5, retry_base_delay: null, retry_backoff_factor: 2,
      retry_max_delay: null, max_concurrency: "two", search_fields: { phone: "{{ input.phone }}" },
    });
  });

  it("sends the search fields as an object, blank rows left out, the rest as typed", () => {
    const form = { ...settingsForm(workflow), search_fields: [
      { name: " phone ", template: "{{ input.phone }}" }, { name: "", template: "" }, { name: "", template: "{{ x }}" }] };
    expect(settingsBody(form).search_fields).toEqual({ phone: "{{ input.phone }}", "": "{{ x }}" });
  });

  it("sends the chosen error workflow, or null for the user's default", () => {
    const chosen = { ...workflow, error_workflow_id: "w9" } as unknown as Workflow;
    expect(settingsForm(chosen).error_workflow_id).toBe("w9");
    expect(settingsBody(settingsForm(chosen)).error_workflow_id).toBe("w9");
    expect(settingsBody({ ...settingsForm(chosen), error_workflow_id: "" }).error_workflow_id).toBeNull();
  });
});

describe("export and import", () => {
  it("names the file after the workflow", () => {
    expect(exportFileName("New user signup")).toBe("new-user-signup.json");
    expect(exportFileName("  ")).toBe("workflow.json");
    expect(exportFileName("Café / CRM")).toBe("cafe-crm.json");
  });

  it("reads a JSON file and says when it is not JSON", () => {
    expect(parseImportFile('{"flowpilot_export": 1}')).toEqual({ flowpilot_export: 1 });
    expect(() => parseImportFile("nope")).toThrow(/The file is not JSON/);
  });
});

describe("workflow limits form", () => {
  it("round-trips stored limits, leaves blank parts out and sends non-numbers as typed", () => {
    const stored = { ...workflow, limits: { rate: { limit: 5, per_seconds: 1, burst: 2, key: "sms" }, priority: "{{ input.p }}" } };
    const form = limitsForm(stored as unknown as Workflow);
    expect(form.rate).toEqual({ key: "sms", limit: "5", per_seconds: "1", burst: "2", name: "" });
    expect(limitsBody(form)).toEqual({ rate: { key: "sms", limit: 5, per_seconds: 1, burst: 2 }, priority: "{{ input.p }}" });
    expect(limitsBody({ ...form, rate: { ...form.rate, limit: "five" }, priority: " " }))
      .toEqual({ rate: { key: "sms", limit: "five", per_seconds: 1, burst: 2 } });
    expect(limitsBody(limitsForm(workflow))).toEqual({});
  });
});
