import { execution, task } from "@/monitor/test-fixtures";

import { lastRunInput, NO_PINS, pinnedOutputKeys, pinsFromExecution, preview, rememberRunInput, resumeOverrides,
         upstreamOutputs } from "./pins";
import type { StepDefinition } from "./types";

const def = (key: string, config: Record<string, unknown>): StepDefinition => ({
  key, name: key, task_type: "data_transform", config, depends_on: [], step_order: 0, when: "", position: { x: 0, y: 0 },
});

describe("pinsFromExecution", () => {
  it("pins each step's current attempt: input and output when completed, input only when failed", () => {
    const run = execution([
      task("order", { input_data: { source: { total: 30 } }, output_data: { result: { total: 30 } } }),
      task("invoice", { status: "failed", attempt_number: 1, is_latest: false, input_data: { source: "old" } }),
      task("invoice", { status: "failed", attempt_number: 2, input_data: { source: "x" }, output_data: null }),
      task("later", { status: "pending", input_data: null }),
    ], { input_data: { order: { total: 30 } }, status: "failed" });
    expect(pinsFromExecution(run)).toEqual({
      input: { order: { total: 30 } },
      steps: { order: { input: { source: { total: 30 } }, output: { result: { total: 30 } } }, invoice: { input: { source: "x" } } },
      source_execution: run.id,
    });
  });
});

describe("upstreamOutputs", () => {
  it("sends the pinned output of each upstream step, a placeholder for the others", () => {
    const pins = { ...NO_PINS, steps: { order: { output: { total: 30 } }, failed: { input: {} } } };
    expect(upstreamOutputs(pins, ["order", "failed", "new"], (key) => ({ placeholder: key }))).toEqual({
      order: { output: { total: 30 } }, failed: { output: { placeholder: "failed" } }, new: { output: { placeholder: "new" } },
    });
    expect(upstreamOutputs(null, ["order"], () => ({}))).toEqual({ order: { output: {} } });
  });

  it("keeps a pinned output that is null or false (pinned, not missing)", () => {
    expect(upstreamOutputs({ ...NO_PINS, steps: { a: { output: null } } }, ["a"], () => "x")).toEqual({ a: { output: null } });
  });
});

describe("resumeOverrides", () => {
  const run = { steps: [def("order", { source: "{{ input }}" }), def("invoice", { source: "{{ bad }}" })], input: { a: 1 } };

  it("names the configs changed and the input when it differs, nothing else", () => {
    const edited = { steps: [def("order", { source: "{{ input }}" }), def("invoice", { source: "{{ good }}" }), def("added", {})], input: { a: 1 } };
    expect(resumeOverrides(run, edited)).toEqual({ steps: { invoice: { config: { source: "{{ good }}" } } } });
    expect(resumeOverrides(run, { ...edited, input: { a: 2 } })).toEqual({
      steps: { invoice: { config: { source: "{{ good }}" } } }, input: { a: 2 } });
  });

  it("is null when nothing changed", () => {
    expect(resumeOverrides(run, { steps: run.steps.map((s) => ({ ...s })), input: { a: 1 } })).toBeNull();
  });
});

describe("the Run dialog's last input", () => {
  beforeEach(() => localStorage.clear());

  it("is kept per workflow", () => {
    expect(lastRunInput("w1")).toBeNull();
    rememberRunInput("w1", { name: "Ada" });
    rememberRunInput("w2", { name: "Bo" });
    expect(lastRunInput("w1")).toEqual({ name: "Ada" });
    expect(lastRunInput("w2")).toEqual({ name: "Bo" });
  });

  it("ignores what is not a JSON object", () => {
    localStorage.setItem("flowpilot:last-run-input:w1", "[1]");
    expect(lastRunInput("w1")).toBeNull();
    localStorage.setItem("flowpilot:last-run-input:w1", "{not json");
    expect(lastRunInput("w1")).toBeNull();
  });
});

it("previews a value on one short line", () => {
  expect(preview({ result: { total: 30 } })).toBe('{"result":{"total":30}}');
  expect(preview("x".repeat(100), 10)).toHaveLength(10);
});

describe("pinnedOutputKeys", () => {
  it("lists the design's steps with a pinned output, not those with an input only nor gone steps", () => {
    const pins = { input: {}, source_execution: null,
                   steps: { a: { output: { x: 1 } }, b: { input: { y: 2 } }, gone: { output: {} } } };
    expect(pinnedOutputKeys(pins, ["a", "b", "c"])).toEqual(["a"]);
    expect(pinnedOutputKeys(null, ["a"])).toEqual([]);
  });
});
