import { task } from "@/monitor/test-fixtures";

import { compareRuns, diffOutputs, parseMocks, sameJson } from "./output-diff";

describe("diffOutputs", () => {
  it("finds nothing between equal outputs, whatever the key order", () => {
    expect(diffOutputs({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 })).toEqual([]);
    expect(sameJson({ a: 1, b: 2 }, { b: 2, a: 1 })).toBe(true);
  });

  it("names changed, added and removed keys by dotted path, sorted", () => {
    const before = { result: { name: "Ada", tier: "basic", old: true }, status_code: 200 };
    const after = { result: { name: "Ada", tier: "gold", email: "ada@example.com" }, status_code: 200 };
    expect(diffOutputs(before, after)).toEqual([
      { path: "result.email", kind: "added", after: "ada@example.com" },
      { path: "result.old", kind: "removed", before: true },
      { path: "result.tier", kind: "changed", before: "basic", after: "gold" },
    ]);
  });

  it("compares lists item by item", () => {
    expect(diffOutputs({ xs: [1, 2, 3] }, { xs: [1, 5] })).toEqual([
      { path: "xs.1", kind: "changed", before: 2, after: 5 },
      { path: "xs.2", kind: "removed", before: 3 },
    ]);
  });

  it("says a change of shape (or of the whole output) once", () => {
    expect(diffOutputs({ body: "text" }, { body: { id: 1 } })).toEqual([{ path: "body", kind: "changed", before: "text", after: { id: 1 } }]);
    expect(diffOutputs(null, { a: 1 })).toEqual([{ path: "", kind: "changed", before: null, after: { a: 1 } }]);
  });

  it("is bounded: at most `limit` changes, no deeper than `maxDepth`", () => {
    const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
    expect(diffOutputs({}, many, { limit: 10 })).toHaveLength(10);
    expect(diffOutputs({ a: { b: { c: 1 } } }, { a: { b: { c: 2 } } }, { maxDepth: 1 }))
      .toEqual([{ path: "a", kind: "changed", before: { b: { c: 1 } }, after: { b: { c: 2 } } }]);
  });
});

describe("compareRuns", () => {
  it("pairs the current attempts by step and marks the mocked ones", () => {
    const original = [
      task("shape", { output_data: { result: { tier: "basic" } } }),
      task("crm", { status: "failed", is_latest: false, attempt_number: 1 }),
      task("crm", { output_data: { id: 1 }, attempt_number: 2 }),
      task("gone", { output_data: {} }),
    ];
    const replay = [
      task("shape", { output_data: { result: { tier: "gold" } } }),
      task("crm", { output_data: { id: 1 }, mocked: true }),
      task("audit", { status: "failed", mocked: false }),
    ];
    const rows = compareRuns(original, replay);
    expect(rows.map((row) => [row.stepKey, row.comparison, row.mocked])).toEqual([
      ["shape", "changed", false],
      ["crm", "same", true],
      ["audit", "only_in_replay", false],
      ["gone", "only_in_original", false],
    ]);
    expect(rows[0].changes).toEqual([{ path: "result.tier", kind: "changed", before: "basic", after: "gold" }]);
    expect(rows[1].original?.attempt_number).toBe(2);
  });

  it("does not compare an attempt that did not complete", () => {
    const [row] = compareRuns([task("a", { output_data: { x: 1 } })], [task("a", { status: "failed", output_data: null })]);
    expect(row.comparison).toBe("not_completed");
  });
});

describe("parseMocks", () => {
  it("answers no mocks for an empty field and the object otherwise", () => {
    expect(parseMocks("  ")).toEqual({ mocks: {} });
    expect(parseMocks('{"crm": {"id": 7}}')).toEqual({ mocks: { crm: { id: 7 } } });
  });

  it("says what is wrong", () => {
    expect(parseMocks("{crm}")).toHaveProperty("error");
    expect(parseMocks("[1]")).toEqual({ error: 'must be a JSON object: {"<step key>": {...output}}' });
    expect(parseMocks('{"crm": 1}')).toEqual({ error: "crm: a step's output is a JSON object" });
  });
});
