import type { StepDefinition } from "@/lib/types";

import { LIMITS } from "@/lib/__fixtures__/limits";
import { graphAncestry } from "@/lib/graph";
import { isCurrentLayout, layoutInWorker } from "@/lib/layout-client";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { createDesignerStore, SYNC_LAYOUT_MAX_STEPS } from "./store";

const types = Object.fromEntries(STEP_TYPES.map((t) => [t.name, t]));
const step = (key: string, depends_on: string[] = [], x = 0): StepDefinition => ({
  key, name: key, task_type: "log", config: { message: "hi" }, depends_on, step_order: 0, when: "", position: { x, y: 0 },
});
/** A chain of `n` steps saved without positions (as the API or Python may make it). */
const chain = (n: number) => Array.from({ length: n }, (_, i) => step(`s${i}`, i ? [`s${i - 1}`] : []));

function make(steps: StepDefinition[]) {
  const store = createDesignerStore({ steps, stepTypes: STEP_TYPES, limits: LIMITS });
  return { store, s: () => store.getState() };
}

describe("the stale-result rule", () => {
  it("takes an answer for the graph and version it was asked for, and no other", () => {
    expect(isCurrentLayout({ revision: 3, viewing: null }, { revision: 3, viewing: null })).toBe(true);
    expect(isCurrentLayout({ revision: 3, viewing: null }, { revision: 4, viewing: null })).toBe(false);
    expect(isCurrentLayout({ revision: 3, viewing: null }, { revision: 3, viewing: 2 })).toBe(false);
  });
});

describe("placing a workflow without positions", () => {
  it("lays out a small one at once, in place", () => {
    const { s } = make(chain(5));
    expect(s().placing).toBeNull();
    expect(s().nodes[1].position.x).toBeGreaterThan(s().nodes[0].position.x);
  });

  it("leaves a big one to the worker, then applies its answer without making it an edit", async () => {
    const { s } = make(chain(SYNC_LAYOUT_MAX_STEPS + 50));
    expect(s().placing).not.toBeNull();
    expect(s().nodes.every((n) => n.position.x === 0 && n.position.y === 0)).toBe(true);
    const ticket = s().layoutTicket();
    const positions = await layoutInWorker(s().nodes, s().edges);
    expect(s().applyLayout(positions, ticket, "place")).toBe(true);
    expect(s().placing).toBeNull();
    expect(s().revision).toBe(s().savedRevision); // nothing for the user to save
    expect(s().past).toHaveLength(0);
    const xs = s().nodes.map((n) => n.position.x);
    for (let i = 1; i < xs.length; i += 1) expect(xs[i]).toBeGreaterThan(xs[i - 1]);
  });

  it("drops a stale answer: the graph changed while the worker ran", async () => {
    const { s } = make(chain(SYNC_LAYOUT_MAX_STEPS + 50));
    const ticket = s().layoutTicket();
    const pending = layoutInWorker(s().nodes, s().edges);
    s().addStep(types.log, { x: 5, y: 5 }); // the designer stays usable meanwhile
    const positions = await pending;
    expect(s().applyLayout(positions, ticket, "place")).toBe(false);
    expect(s().placing).not.toBeNull(); // asked again for the graph as it is now
    expect(s().nodes.filter((n) => n.position.x === 0 && n.position.y === 0).length).toBe(SYNC_LAYOUT_MAX_STEPS + 50);
    const again = s().layoutTicket();
    expect(s().applyLayout(await layoutInWorker(s().nodes, s().edges), again, "place")).toBe(true);
  });

  it("applies the user's Auto-layout from the worker as one undoable edit, and drops it when stale", async () => {
    const steps = chain(4).map((st, i) => ({ ...st, position: { x: 1000 - i * 100, y: 0 } }));
    const { s } = make(steps);
    const ticket = s().layoutTicket();
    const positions = await layoutInWorker(s().nodes, s().edges);
    expect(s().applyLayout(positions, ticket, "auto")).toBe(true);
    expect(s().nodes[0].position.x).toBeLessThan(s().nodes[3].position.x);
    expect(s().revision).not.toBe(s().savedRevision);
    s().undo();
    expect(s().nodes.map((n) => n.position.x)).toEqual([1000, 900, 800, 700]);
    const stale = s().layoutTicket();
    s().updateStep("s1", { name: "renamed" });
    expect(s().applyLayout(positions, stale, "auto")).toBe(false);
    expect(s().nodes.map((n) => n.position.x)).toEqual([1000, 900, 800, 700]);
  });
});

describe("ancestry per graph", () => {
  it("is computed once per graph, each step's ancestors on first ask", () => {
    const { s } = make(chain(3000));
    const first = graphAncestry(s().nodes, s().edges);
    expect(first.of("s2")).toEqual(["s0", "s1"]);
    expect(first.of("s2999")).toHaveLength(2999);
    s().select(["s5"]); // a selection is not a new graph
    expect(graphAncestry(s().nodes, s().edges)).toBe(first);
    s().connect({ source: "s0", target: "s2" });
    const after = graphAncestry(s().nodes, s().edges);
    expect(after).not.toBe(first);
    expect(after.of("s2")).toEqual(["s0", "s1"]);
  });
});
