/* The save's rules are the server's (POST /api/v1/workflows/validate/): the cases this file asserted
 * when the designer re-implemented them (template syntax, configs against their schemas, keys,
 * duplicates, unknown types, dependencies, branches, cycles, the bounds on a step's numbers) are
 * asserted on the server, validate's answer equal to a save's 400, in workflows/tests/test_validate.py.
 * What is left here: mapping the server's answer onto the steps, and the branches a node draws. */
import { STEP_TYPES } from "@/designer/__fixtures__/step-types";

import { LIMITS } from "./__fixtures__/limits";
import { issueCount, keyProblem, serverIssues, stepBranches, warningCount, withWarnings } from "./validation";

const types = Object.fromEntries(STEP_TYPES.map((t) => [t.name, t]));

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

  it("name an array's item as the step's form does, and a step's own problems as the step's", () => {
    const { byStep, general } = serverIssues({
      "steps.fetch.config.success_status.1": ["'x' is not of type 'integer'"],
      "steps.fetch.config.json.list.0.id": ["is required"],
      "steps.a.depends_on": ["dependency cycle: a -> b -> a"],
      "steps.ghost.key": ["a step that was not sent"],
    }, [{ key: "fetch" }, { key: "a" }]);
    expect(byStep).toEqual({
      fetch: [
        { field: "config.success_status[1]", message: "'x' is not of type 'integer'" },
        { field: "config.json.list[0].id", message: "is required" },
      ],
      a: [{ field: "depends_on", message: "dependency cycle: a -> b -> a" }],
    });
    expect(general).toEqual(["steps.ghost.key: a step that was not sent"]);
  });
});

describe("server warnings", () => {
  it("map onto the steps like errors, marked, and count apart: they never block a save", () => {
    const sent = [{ key: "crm" }, { key: "notify" }];
    const errors = serverIssues({ "steps.crm.config.url": ["is required"] }, sent);
    const warnings = serverIssues({
      "steps.crm.config.auth.credential": ["no credential named 'crm_tokn'"],
      "steps.notify.config.credential": ["no credential named 'slack'"],
    }, sent, "warning");
    const merged = withWarnings(errors.byStep, warnings.byStep);
    expect(merged).toEqual({
      crm: [{ field: "config.url", message: "is required" },
            { field: "config.auth.credential", message: "no credential named 'crm_tokn'", level: "warning" }],
      notify: [{ field: "config.credential", message: "no credential named 'slack'", level: "warning" }],
    });
    expect(issueCount(merged)).toBe(1);
    expect(warningCount(merged)).toBe(2);
    expect(issueCount(warnings.byStep)).toBe(0);
  });
});

describe("a step key", () => {
  it("is checked by the rule the server serves, with its message", () => {
    expect(keyProblem("fetch_2", LIMITS)).toBeNull();
    expect(keyProblem("1st", LIMITS)).toBe(LIMITS.step_key.message);
    expect(keyProblem("bad key", LIMITS)).toBe(LIMITS.step_key.message);
    expect(keyProblem("", LIMITS)).toBe(LIMITS.step_key.message);
    expect(keyProblem("k".repeat(100), LIMITS)).toBeNull();
    expect(keyProblem("k".repeat(101), LIMITS)).toBe("at most 100 characters");
  });

  it("follows the server when it changes the rule, and is left to the server until the rule is known", () => {
    const loose = { step_key: { ...LIMITS.step_key, pattern: "^[a-z0-9-]+$" } };
    expect(keyProblem("1st-step", loose)).toBeNull();
    expect(keyProblem("1st", {})).toBeNull();
  });
});
