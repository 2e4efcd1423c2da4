import type { StepDefinition } from "@/lib/types";

import { LIMITS } from "@/lib/__fixtures__/limits";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { createDesignerStore } from "./store";

const types = Object.fromEntries(STEP_TYPES.map((t) => [t.name, t]));
const step = (key: string, depends_on: string[] = [], x = 0): StepDefinition => ({
  key, name: key, task_type: "log", config: { message: `{{ steps.${depends_on[0] ?? "x"}.output }}` }, depends_on,
  step_order: 0, when: "", position: { x, y: 0 },
});

function make(steps: StepDefinition[] = []) {
  const store = createDesignerStore({ steps, stepTypes: STEP_TYPES, limits: LIMITS });
  return { store, s: () => store.getState() };
}
const deps = (steps: StepDefinition[]) => Object.fromEntries(steps.map((st) => [st.key, st.depends_on]));

describe("designer store", () => {
  it("adds a step with its schema's defaults (never its example), a unique key, selected, and marks unsaved changes", () => {
    const { s } = make([step("log")]);
    expect(s().revision).toBe(s().savedRevision);
    const key = s().addStep(types.log, { x: 100, y: 50 });
    expect(key).toBe("log_2");
    const added = s().nodes.find((n) => n.id === key)!;
    expect(added.data.step).toMatchObject({ task_type: "log", name: "Log", config: { level: "info" }, position: { x: 100, y: 50 } });
    expect(s().selected).toBe(key);
    expect(s().revision).not.toBe(s().savedRevision);
  });

  it("starts a new HTTP step without the example's host or credential (Test this step would call them)", () => {
    const { s } = make([]);
    expect(JSON.stringify(types.http_request.example)).toMatch(/crm_token/); // what the example names
    const key = s().addStep(types.http_request, { x: 0, y: 0 });
    const config = s().nodes.find((n) => n.id === key)!.data.step.config;
    expect(config).toEqual({ method: "GET", timeout: 30, follow_redirects: true });
    expect(JSON.stringify(config)).not.toMatch(/crm|example\.com|credential/);
  });

  it("connects steps, with the branch of a conditional, and refuses self-loops, duplicates and cycles", () => {
    const { s } = make([step("a"), step("b", ["a"]), step("c", ["b"])]);
    expect(s().connect({ source: "a", target: "a" })).toEqual({ ok: false, reason: expect.stringMatching(/itself/) });
    expect(s().connect({ source: "c", target: "a" })).toEqual({ ok: false, reason: expect.stringMatching(/cycle/) });
    expect(s().connect({ source: "a", target: "b" })).toEqual({ ok: false, reason: expect.stringMatching(/already/) });
    expect(s().edges).toHaveLength(2);

    const check = s().addStep(types.conditional, { x: 0, y: 0 });
    expect(s().connect({ source: check, target: "a", sourceHandle: "true" })).toEqual({ ok: true });
    expect(deps(s().steps()).a).toEqual(["conditional:true"]);
    expect(s().edges.find((e) => e.target === "a")).toMatchObject({ label: "true", sourceHandle: "true" });
  });

  it("deletes the selected steps with their edges, and undoes and redoes it", () => {
    const { s } = make([step("a"), step("b", ["a"]), step("c", ["b"])]);
    s().select(["b"]);
    expect(s().deleteSelected()).toBe(1);
    expect(s().nodes.map((n) => n.id)).toEqual(["a", "c"]);
    expect(s().edges).toEqual([]);
    s().undo();
    expect(s().nodes.map((n) => n.id)).toEqual(["a", "b", "c"]);
    expect(deps(s().steps())).toEqual({ a: [], b: ["a"], c: ["b"] });
    expect(s().revision).toBe(s().savedRevision); // back to the saved definition
    s().redo();
    expect(s().nodes.map((n) => n.id)).toEqual(["a", "c"]);
  });

  it("counts a burst of typing in one field as one undo step", () => {
    const { s } = make([step("a")]);
    s().updateStep("a", { name: "N" }, "name");
    s().updateStep("a", { name: "Na" }, "name");
    s().updateStep("a", { name: "Nam" }, "name");
    expect(s().past).toHaveLength(1);
    s().undo();
    expect(s().nodes[0].data.step.name).toBe("a");
  });

  it("counts a node drag as one undo step", () => {
    const { s } = make([step("a")]);
    s().beginDrag();
    for (const x of [10, 20, 30]) s().onNodesChange([{ type: "position", id: "a", position: { x, y: 0 }, dragging: true }]);
    s().onNodesChange([{ type: "position", id: "a", position: { x: 40, y: 0 }, dragging: false }]);
    expect(s().nodes[0].position.x).toBe(40);
    expect(s().revision).not.toBe(s().savedRevision);
    s().undo();
    expect(s().nodes[0].position.x).toBe(0);
    expect(s().future).toHaveLength(1);
  });

  it("copies and pastes steps with fresh keys, offset positions and their internal edges", () => {
    const { s } = make([step("a", [], 0), step("b", ["a"], 200), step("c", ["b"], 400)]);
    s().select(["a", "b"]);
    expect(s().copySelected()).toBe(2);
    const pasted = s().paste();
    expect(pasted).toEqual(["a_2", "b_2"]);
    const steps = s().steps();
    expect(deps(steps)).toMatchObject({ a_2: [], b_2: ["a_2"], c: ["b"] });
    // References between the pasted steps follow the new keys.
    expect(steps.find((st) => st.key === "b_2")!.config.message).toBe("{{ steps.a_2.output }}");
    expect(steps.find((st) => st.key === "a_2")!.position).toEqual({ x: 40, y: 40 });
    expect(s().nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(["a_2", "b_2"]);
    expect(s().paste()).toEqual(["a_3", "b_3"]);
    expect(s().steps().find((st) => st.key === "a_3")!.position).toEqual({ x: 80, y: 80 });
  });

  it("renames a step: edges and references follow; a bad or taken key is refused", () => {
    const { s } = make([step("a"), step("b", ["a"])]);
    expect(s().renameStep("a", "b").ok).toBe(false);
    expect(s().renameStep("a", "1st").ok).toBe(false);
    expect(s().renameStep("a", "fetch")).toEqual({ ok: true });
    const steps = s().steps();
    expect(deps(steps)).toEqual({ fetch: [], b: ["fetch"] });
    expect(steps[1].config.message).toBe("{{ steps.fetch.output }}");
  });

  it("shows the server's check of the graph it checked, and an unchanged step keeps its problems array", () => {
    const { s } = make([step("a"), step("b")]);
    s().updateStep("a", { config: {} });
    // What POST workflows/validate/ answers for this graph (hooks/use-server-validation.ts maps it).
    s().setServerErrors({ a: [{ field: "config.message", message: "this field is required" }] }, [], s().revision);
    expect(s().issues.a).toEqual([{ field: "config.message", message: "this field is required" }]);
    expect(s().validatedRevision).toBe(s().revision);
    const before = s().issues.a;
    s().updateStep("b", { name: "B" });
    expect(s().issues.a).toBe(before);
    expect(s().validatedRevision).not.toBe(s().revision); // shown, but of the graph before this edit
    s().updateStep("a", { config: { message: "ok" } });
    s().setServerErrors({}, [], s().revision);
    expect(s().issues.a).toBeUndefined();
    expect(s().validatedRevision).toBe(s().revision);
  });

  it("shows server errors on steps until the step is edited", () => {
    const { s } = make([step("a"), step("b")]);
    s().setServerErrors({ a: [{ field: "config.message", message: "rejected" }] }, ["name: blank"]);
    expect(s().issues.a).toEqual([{ field: "config.message", message: "rejected" }]);
    expect(s().generalErrors).toEqual(["name: blank"]);
    s().updateStep("a", { config: { message: "better" } });
    expect(s().issues.a ?? []).toEqual([]);
  });

  it("views an old version read-only, then goes back to the edited graph; restore makes it unsaved", () => {
    const { s } = make([step("a")]);
    s().addStep(types.log, { x: 0, y: 0 });
    s().viewVersion(1, [step("old")]);
    expect(s().nodes.map((n) => n.id)).toEqual(["old"]);
    expect(s().addStep(types.log, { x: 0, y: 0 })).toBe("");
    s().exitView();
    expect(s().nodes.map((n) => n.id)).toEqual(["a", "log"]);
    s().restoreVersion([step("old")]);
    expect(s().nodes.map((n) => n.id)).toEqual(["old"]);
    expect(s().viewing).toBeNull();
    expect(s().revision).not.toBe(s().savedRevision);
    s().undo();
    expect(s().nodes.map((n) => n.id)).toEqual(["a", "log"]);
  });

  it("lays out the graph as one undoable step", () => {
    const { s } = make([step("a", [], 500), step("b", ["a"], 0)]);
    s().autoLayout();
    const [a, b] = s().nodes;
    expect(a.position.x).toBeLessThan(b.position.x);
    s().undo();
    expect(s().nodes.map((n) => n.position.x)).toEqual([500, 0]);
  });
});
