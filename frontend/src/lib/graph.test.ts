import { ancestors, codeToFlow, findCycle, flowToSteps, layout, parseRef, stepsToFlow, uniqueKey } from "./graph";
import type { StepDefinition } from "./types";

const step = (key: string, depends_on: string[] = [], extra: Partial<StepDefinition> = {}): StepDefinition => ({
  key, name: key, task_type: "log", config: { message: key }, depends_on, step_order: 0, when: "",
  position: { x: 0, y: 0 }, ...extra,
});

const signup = [
  step("signup"),
  step("welcome_email", ["signup"], { task_type: "send_email" }),
  step("plan", ["signup"], { task_type: "conditional" }),
  step("crm_pro", ["plan:true"]),
  step("crm_basic", ["plan:false"]),
  step("notify", ["welcome_email", "crm_pro", "crm_basic"]),
];

describe("graph conversion", () => {
  it("reads branch references", () => {
    expect(parseRef("plan:true")).toEqual({ key: "plan", branch: "true" });
    expect(parseRef("signup")).toEqual({ key: "signup" });
  });

  it("turns steps into nodes and labelled edges", () => {
    const { nodes, edges } = stepsToFlow(signup);
    expect(nodes.map((n) => n.id)).toEqual(signup.map((s) => s.key));
    expect(edges).toHaveLength(7);
    const pro = edges.find((e) => e.target === "crm_pro")!;
    expect(pro).toMatchObject({ source: "plan", sourceHandle: "true", label: "true", data: { branch: "true" } });
    expect(edges.find((e) => e.target === "welcome_email")).toMatchObject({ source: "signup", sourceHandle: null });
  });

  it("round-trips a definition exactly", () => {
    const { nodes, edges } = stepsToFlow(signup);
    const back = flowToSteps(nodes, edges);
    expect(back.map((s) => [s.key, s.depends_on])).toEqual(signup.map((s) => [s.key, s.depends_on]));
    expect(back[1].task_type).toBe("send_email");
  });

  it("drops dependencies on steps that do not exist and rounds positions", () => {
    const { nodes, edges } = stepsToFlow([step("a", ["ghost"]), step("b", ["a"], { position: { x: 10.6, y: 3.2 } })]);
    expect(edges).toHaveLength(1);
    expect(flowToSteps(nodes, edges)[1].position).toEqual({ x: 11, y: 3 });
  });

  it("lays out left to right by dependency depth", () => {
    const { nodes, edges } = stepsToFlow(signup);
    const placed = new Map(layout(nodes, edges).map((n) => [n.id, n.position.x]));
    expect(placed.get("signup")!).toBeLessThan(placed.get("plan")!);
    expect(placed.get("plan")!).toBeLessThan(placed.get("crm_pro")!);
    expect(placed.get("crm_pro")!).toBeLessThan(placed.get("notify")!);
    expect(nodes[0].position).toEqual({ x: 0, y: 0 }); // the input is left untouched
  });
});

describe("big graphs (no recursion)", () => {
  const chain = (n: number) => Array.from({ length: n }, (_, i) => step(`s${i}`, i ? [`s${i - 1}`] : []));

  it("lays out a 10,000-step chain left to right", () => {
    const { nodes, edges } = stepsToFlow(chain(10_000));
    const placed = layout(nodes, edges);
    for (let i = 1; i < placed.length; i += 1) expect(placed[i].position.x).toBeGreaterThan(placed[i - 1].position.x);
  });

  it("finds no cycle in a 10,000-step chain, and the one closing it", () => {
    const steps = chain(10_000);
    expect(findCycle(steps)).toBeNull();
    steps[0] = step("s0", ["s9999"]);
    const cycle = findCycle(steps)!;
    expect(cycle).toHaveLength(10_001);
    expect(cycle[0]).toBe(cycle[cycle.length - 1]);
  });
});

describe("graph checks", () => {
  it("finds a cycle and names its steps", () => {
    expect(findCycle(signup)).toBeNull();
    const cycle = findCycle([step("a", ["c"]), step("b", ["a"]), step("c", ["b:yes"])]);
    expect(cycle).not.toBeNull();
    expect(new Set(cycle)).toEqual(new Set(["a", "b", "c"]));
    expect(cycle![0]).toBe(cycle![cycle!.length - 1]);
    expect(findCycle([step("self", ["self"])])).toEqual(["self", "self"]);
  });

  it("lists a step's ancestors in definition order", () => {
    expect(ancestors(signup, "notify")).toEqual(["signup", "welcome_email", "plan", "crm_pro", "crm_basic"]);
    expect(ancestors(signup, "crm_pro")).toEqual(["signup", "plan"]);
    expect(ancestors(signup, "signup")).toEqual([]);
  });

  it("makes unique, valid step keys", () => {
    expect(uniqueKey("Send email", [])).toBe("send_email");
    expect(uniqueKey("send_email", ["send_email", "send_email_2"])).toBe("send_email_3");
    expect(uniqueKey("3rd party", [])).toBe("step_3rd_party");
    expect(uniqueKey("!!!", [])).toBe("step");
  });
});

describe("code workflow graph", () => {
  const steps = [
    { key: "assign_reviewer", start: true, action: "", timeout_seconds: null, retry: {} },
    { key: "process_review", start: false, action: "review", timeout_seconds: 30, retry: { max_retries: 3 } },
    { key: "escalate", start: false, action: "", timeout_seconds: null, retry: {} },
    { key: "remind", start: false, action: "", timeout_seconds: null, retry: {} },
  ];
  const moves = [
    { source: "assign_reviewer", target: "process_review", kind: "then" as const },
    { source: "assign_reviewer", target: "escalate", kind: "timeout" as const },
    { source: "escalate", target: "process_review", kind: "then" as const },
    { source: "process_review", target: "remind", kind: "goto" as const },
    { source: "remind", target: "remind", kind: "sleep" as const },
    { source: "remind", target: "assign_reviewer", kind: "goto" as const },
    { source: "remind", target: "ghost", kind: "goto" as const },
  ];

  it("makes a node per step keyed by its key, the start step marked", () => {
    const { nodes } = codeToFlow(steps, moves);
    expect(nodes.map((n) => n.id)).toEqual(["assign_reviewer", "process_review", "escalate", "remind"]);
    expect(nodes[0]).toMatchObject({ className: "fp-start-step", data: { code: { start: true } } });
    expect(nodes[1].className).toBeUndefined();
    expect(nodes[1].data).toMatchObject({
      step: { key: "process_review", name: "process_review", task_type: "code", depends_on: [], timeout_seconds: 30 },
      code: { start: false, action: "review", retry: { max_retries: 3 } },
    });
  });

  it("labels each move with its kind, loops included, and drops moves to unknown steps", () => {
    const { edges } = codeToFlow(steps, moves);
    expect(edges.map((e) => [e.source, e.target, e.label])).toEqual([
      ["assign_reviewer", "process_review", "then"],
      ["assign_reviewer", "escalate", "timeout"],
      ["escalate", "process_review", "then"],
      ["process_review", "remind", "goto"],
      ["remind", "remind", "sleep"],
      ["remind", "assign_reviewer", "goto"],
    ]);
    expect(new Set(edges.map((e) => e.id)).size).toBe(edges.length);
    expect(edges[1]).toMatchObject({ data: { move: "timeout" }, className: "fp-move-timeout" });
    expect(edges[4].type).toBe("loop");
    expect(edges[1].type).toBeUndefined();
  });

  it("reads a version's {from, to} moves the same way", () => {
    const { edges } = codeToFlow(steps, [{ from: "escalate", to: "process_review", kind: "then" }]);
    expect(edges).toEqual([expect.objectContaining({ source: "escalate", target: "process_review", label: "then" })]);
  });

  it("lays the steps out from the start, left to right, in spite of the loops", () => {
    const placed = new Map(codeToFlow(steps, moves).nodes.map((n) => [n.id, n.position.x]));
    expect(placed.get("assign_reviewer")!).toBeLessThan(placed.get("escalate")!);
    expect(placed.get("escalate")!).toBeLessThan(placed.get("process_review")!);
    expect(placed.get("process_review")!).toBeLessThan(placed.get("remind")!);
  });
});
