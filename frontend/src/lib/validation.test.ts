import { STEP_TYPES } from "@/designer/__fixtures__/step-types";

import { templateErrors, templateSyntaxError } from "./templates";
import type { StepDefinition } from "./types";
import { checkSchema, serverIssues, stepBranches, validateSteps } from "./validation";

const types = Object.fromEntries(STEP_TYPES.map((t) => [t.name, t]));
const step = (key: string, task_type: string, config: Record<string, unknown>, depends_on: string[] = []): StepDefinition => ({
  key, name: key, task_type, config, depends_on, step_order: 0, position: { x: 0, y: 0 },
});

describe("template syntax", () => {
  it("accepts balanced templates and plain text", () => {
    expect(templateSyntaxError("Hello {{ input.name }}, {% if x %}yes{% endif %}")).toBeNull();
    expect(templateSyntaxError("no templates here")).toBeNull();
  });

  it("names unclosed, stray, mismatched and empty delimiters", () => {
    expect(templateSyntaxError("Hi {{ input.name")).toMatch(/not closed/);
    expect(templateSyntaxError("Hi input.name }}")).toMatch(/no opening/);
    expect(templateSyntaxError("{% if x }}")).toMatch(/closed by "}}"/);
    expect(templateSyntaxError("{{ a {{ b }}")).toMatch(/not closed before/);
    expect(templateSyntaxError("{{ }}")).toMatch(/empty/);
  });

  it("finds broken strings deep in a config by path", () => {
    expect(templateErrors({ json: { list: ["ok", "{{ broken"] }, url: "x" })).toEqual([
      { path: "json.list[1]", message: expect.stringMatching(/not closed/) },
    ]);
  });
});

describe("schema checks", () => {
  const http = types.http_request.config_schema;

  it("reports missing required fields, nested too", () => {
    expect(checkSchema(http, { method: "GET" }, "config")).toEqual([{ field: "config.url", message: "is required" }]);
    const auth = checkSchema(http, { url: "https://x", auth: { type: "bearer" } }, "config");
    expect(auth).toEqual([{ field: "config.auth.credential", message: "is required" }]);
  });

  it("checks types, enums, lengths, ranges and closed objects", () => {
    const fields = (config: Record<string, unknown>) => checkSchema(http, { url: "u", ...config }, "config").map((i) => i.field);
    expect(fields({ timeout: "soon" })).toEqual(["config.timeout"]);
    expect(fields({ method: "FETCH" })).toEqual(["config.method"]);
    expect(fields({ timeout: 601 })).toEqual(["config.timeout"]);
    expect(fields({ success_status: [200, "x"] })).toEqual(["config.success_status[1]"]);
    expect(fields({ colour: "blue" })).toEqual(["config.colour"]);
    expect(checkSchema(http, { url: "" }, "config")[0].message).toBe("must not be empty");
  });

  it("lets a template stand for a value of any type", () => {
    expect(checkSchema(http, { url: "u", timeout: "{{ input.timeout }}" }, "config")).toEqual([]);
    expect(checkSchema(types.conditional.config_schema, { condition: "{{ input.x > 1 }}" }, "config")).toEqual([]);
  });

  it("asks for one of the alternatives of a oneOf", () => {
    const schema = types.conditional.config_schema;
    expect(checkSchema(schema, {}, "config")).toEqual([{ field: "config", message: "needs one of: condition or cases" }]);
    expect(checkSchema(schema, { condition: true, cases: [{ branch: "a", when: true }] }, "config")[0].message)
      .toMatch(/only one of/);
  });
});

describe("validateSteps", () => {
  it("is empty for a sound workflow", () => {
    const steps = [
      step("start", "log", { message: "hi" }),
      step("check", "conditional", { condition: "{{ input.pro }}" }, ["start"]),
      step("pro", "log", { message: "{{ steps.start.output.message }}" }, ["check:true"]),
    ];
    expect(validateSteps(steps, types)).toEqual({});
  });

  it("reports each kind of problem on its step and field", () => {
    const steps = [
      step("bad key", "log", { message: "x" }),
      step("dup", "log", { message: "x" }),
      step("dup", "log", { message: "x" }),
      step("mystery", "teleport", {}),
      step("mail", "send_email", { to: "a@b.c", subject: "Hi {{ input.name" }),
      step("when", "log", { message: "x" }),
    ];
    steps[5].when = "{{ input.ok and ";
    const issues = validateSteps(steps, types);
    expect(issues["bad key"]).toEqual([{ field: "key", message: expect.stringMatching(/letters, digits/) }]);
    expect(issues.dup.map((i) => i.message)).toEqual(["is used by more than one step", "is used by more than one step"]);
    expect(issues.mystery).toEqual([{ field: "task_type", message: 'unknown step type "teleport"' }]);
    expect(issues.mail).toEqual([
      { field: "config.subject", message: expect.stringMatching(/not closed/) },
      { field: "config.body", message: "is required" },
    ]);
    expect(issues.when[0].field).toBe("when");
  });

  it("marks every step of a cycle", () => {
    const steps = [step("a", "log", { message: "a" }, ["c"]), step("b", "log", { message: "b" }, ["a"]),
      step("c", "log", { message: "c" }, ["b"]), step("d", "log", { message: "d" })];
    const issues = validateSteps(steps, types);
    expect(Object.keys(issues).sort()).toEqual(["a", "b", "c"]);
    expect(issues.a[0]).toEqual({ field: "depends_on", message: expect.stringMatching(/cycle: .*→/) });
  });

  it("checks branch references against the upstream step's branches", () => {
    const steps = [
      step("route", "conditional", { cases: [{ branch: "eu", when: "{{ x }}" }], default: "other" }),
      step("eu", "log", { message: "x" }, ["route:eu"]),
      step("us", "log", { message: "x" }, ["route:true"]),
      step("plain", "log", { message: "x" }, ["eu:yes"]),
    ];
    const issues = validateSteps(steps, types);
    expect(issues.eu).toBeUndefined();
    expect(issues.us[0].message).toMatch(/no branch "true".*eu, other/);
    expect(issues.plain[0].message).toMatch(/no branches/);
  });
});

describe("bounds on a step's numbers", () => {
  // The server's answer to GET /api/v1/limits/ (workflows/bounds.py): the designer keeps no copy.
  const limits = {
    retry_base_delay: { min: 0, max: 604800 }, retry_backoff_factor: { min: 1, max: 10 },
    timeout_seconds: { min: 1, max: 604800 }, max_retries: { min: 0, max: 100 },
  };

  it("are the server's, naming the field and the bound", () => {
    const hostile = { ...step("a", "log", { message: "x" }), retry_base_delay: 1e12, retry_backoff_factor: 1e308,
      timeout_seconds: 0, max_retries: 3 };
    expect(validateSteps([hostile], types, limits).a).toEqual([
      { field: "timeout_seconds", message: "must be at least 1" },
      { field: "retry_base_delay", message: "must be at most 604800" },
      { field: "retry_backoff_factor", message: "must be at most 10" },
    ]);
  });

  it("follow the server when it changes them, and leave a number alone until they are known", () => {
    const slow = { ...step("a", "log", { message: "x" }), retry_base_delay: 700000 };
    expect(validateSteps([slow], types, { retry_base_delay: { min: 0, max: 10 ** 6 } })).toEqual({});
    expect(validateSteps([slow], types)).toEqual({});
    expect(validateSteps([{ ...slow, retry_base_delay: Number.NaN }], types).a)
      .toEqual([{ field: "retry_base_delay", message: "must be a number" }]);
  });
});

describe("branches", () => {
  it("come from the type, or from a conditional's cases", () => {
    expect(stepBranches(types.conditional, { condition: "x" })).toEqual(["true", "false"]);
    expect(stepBranches(types.conditional, { cases: [{ branch: "a" }, { branch: "b" }] })).toEqual(["a", "b", "default"]);
    expect(stepBranches(types.log, {})).toBeNull();
  });
});

describe("server errors", () => {
  it("map onto the steps sent, by key or by index, the rest stays general", () => {
    const sent = [{ key: "a" }, { key: "b" }];
    const { byStep, general } = serverIssues({
      "steps.b.config.url": ["this field is required"],
      "steps[0].key": ["use letters"],
      name: ["This field may not be blank."],
      "": ["a workflow needs at least one step"],
    }, sent);
    expect(byStep).toEqual({
      b: [{ field: "config.url", message: "this field is required" }],
      a: [{ field: "key", message: "use letters" }],
    });
    expect(general).toEqual(["name: This field may not be blank.", "a workflow needs at least one step"]);
  });
});
