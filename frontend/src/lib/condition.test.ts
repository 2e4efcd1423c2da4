import { STEP_TYPES } from "@/designer/__fixtures__/step-types";

import {
  conditionWith, fieldSuggestions, isConditionSchema, operatorsOf, parseValue, samplePaths, takesValue, valueText,
} from "./condition";
import { fieldKind } from "./schema-form";
import type { JsonSchema } from "./types";

// The conditional step's schema as GET /api/v1/step-types/ serves it (workflows/conditions.py's SCHEMA).
const conditional = STEP_TYPES.find((t) => t.name === "conditional")!.config_schema;
const condition = conditional.properties!.condition;
const when = conditional.properties!.cases.items!.properties!.when;

describe("condition", () => {
  it("recognises the structured condition's schema, in the condition and in each case", () => {
    expect(isConditionSchema(condition)).toBe(true);
    expect(isConditionSchema(when)).toBe(true);
    expect(isConditionSchema(conditional.properties!.default)).toBe(false);
    expect(isConditionSchema({ type: "object", properties: { field: { type: "string" } } })).toBe(false);
  });

  it("reads the operators from the schema's enum, in its order", () => {
    expect(operatorsOf(condition)).toEqual(["eq", "ne", "gt", "gte", "lt", "lte", "in", "contains", "exists", "matches"]);
    const other: JsonSchema = { properties: { field: {}, operator: { enum: ["is", "is_not"] } } };
    expect(operatorsOf(other)).toEqual(["is", "is_not"]);
  });

  it("knows from the schema's rules which operators take a value", () => {
    expect(takesValue(condition, "eq")).toBe(true);
    expect(takesValue(condition, "matches")).toBe(true);
    expect(takesValue(condition, "exists")).toBe(false);
    expect(takesValue(condition, undefined)).toBe(true); // no operator chosen yet: the value shows
    expect(takesValue({ properties: { field: {}, operator: { enum: ["x"] } } }, "x")).toBe(true); // no rules: all do
  });

  it("shows and reads values: text as text, JSON as JSON, and back to the same value", () => {
    expect(parseValue("pro")).toBe("pro");
    expect(parseValue("100")).toBe(100);
    expect(parseValue('"100"')).toBe("100");
    expect(parseValue('["a", "b"]')).toEqual(["a", "b"]);
    expect(parseValue("true")).toBe(true);
    expect(parseValue("")).toBeUndefined();
    expect(parseValue('""')).toBe("");
    for (const value of ["pro", "100", 100, 1.5, true, null, ["a", 1], { a: 1 }, "", "{{ x }}", '"quoted', "true"]) {
      expect(parseValue(valueText(value))).toEqual(value);
    }
    expect(valueText("100")).toBe('"100"');
    expect(valueText("pro")).toBe("pro");
    expect(valueText(undefined)).toBe("");
  });

  it("changes one part at a time; an operator without a value drops it; nothing left is no condition", () => {
    let c = conditionWith(condition, undefined, "field", "plan");
    expect(c).toEqual({ field: "plan" });
    c = conditionWith(condition, c, "operator", "eq");
    c = conditionWith(condition, c, "value", "pro");
    expect(c).toEqual({ field: "plan", operator: "eq", value: "pro" });
    expect(conditionWith(condition, c, "operator", "exists")).toEqual({ field: "plan", operator: "exists" });
    expect(conditionWith(condition, c, "value", undefined)).toEqual({ field: "plan", operator: "eq" });
    expect(conditionWith(condition, c, "value", "")).toEqual({ field: "plan", operator: "eq", value: "" });
    expect(conditionWith(condition, { field: "plan" }, "field", "")).toBeUndefined();
    expect(c).toEqual({ field: "plan", operator: "eq", value: "pro" }); // never changed in place
  });

  it("gives the builder its own kind of field, and keeps expressions and other values as they were", () => {
    expect(fieldKind(condition, undefined, "condition")).toBe("condition");
    expect(fieldKind(condition, { field: "plan", operator: "eq", value: "pro" }, "condition")).toBe("condition");
    expect(fieldKind(condition, "{{ input.plan == 'pro' }}", "condition")).toBe("expression");
    expect(fieldKind(condition, "", "condition")).toBe("expression");
    expect(fieldKind(condition, true, "condition")).toBe("json");
  });

  it("suggests the sample input's paths and the upstream outputs, bounded", () => {
    const sample = { plan: "pro", customer: { email: "a@b.c", tags: ["x", "y"] } };
    expect(samplePaths(sample)).toEqual(["plan", "customer", "customer.email", "customer.tags", "customer.tags.0",
                                         "customer.tags.1"]);
    const hints = [{ value: "input." }, { value: "steps.fetch.output" }, { value: "steps.fetch.output.status_code" },
                   { value: "secrets." }, { value: "secrets.token" }];
    expect(fieldSuggestions(sample, hints)).toEqual([...samplePaths(sample), "steps.fetch.output",
                                                     "steps.fetch.output.status_code"]);
    const wide = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`k${i}`, i]));
    expect(samplePaths(wide)).toHaveLength(100);
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < 50; i++) deep = (deep.a = {}) as Record<string, unknown>;
    expect(samplePaths(root).length).toBeLessThanOrEqual(7);
  });
});
