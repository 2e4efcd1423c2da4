import { fireEvent, render, screen, waitFor } from "@testing-library/react";

import { fittingMinZoom, MonitorGraph } from "./MonitorGraph";
import { installFlowEnv } from "./test-flow-env";
import type { DefinitionEdge } from "@/lib/types";

import { execution, SIGNUP_STEPS, step, task } from "./test-fixtures";

beforeAll(installFlowEnv);

const detail = execution([
  task("send_welcome"),
  task("check_plan"),
  task("crm_pro", { status: "failed", attempt_number: 1, is_latest: false }),
  task("crm_pro", { status: "failed", attempt_number: 2, is_latest: false }),
  task("crm_pro", { status: "running", attempt_number: 3, completed_at: null }),
  task("crm_basic", { status: "skipped", started_at: null, completed_at: null }),
]);

function renderGraph(onSelect = vi.fn()) {
  render(
    <div style={{ width: 1000, height: 500 }}>
      <MonitorGraph steps={SIGNUP_STEPS} tasks={detail.task_executions} selectedKey={null} onSelect={onSelect} />
    </div>,
  );
  return onSelect;
}

describe("MonitorGraph", () => {
  it("marks the steps whose config this run overrides, and no other", async () => {
    render(
      <div style={{ width: 1000, height: 500 }}>
        <MonitorGraph steps={SIGNUP_STEPS} tasks={detail.task_executions} selectedKey={null} onSelect={vi.fn()} edited={["crm_pro"]} />
      </div>,
    );
    expect(await screen.findByTestId("monitor-node-edited-crm_pro")).toHaveTextContent("edited");
    expect(screen.queryByTestId("monitor-node-edited-crm_basic")).not.toBeInTheDocument();
  });

  it("colours every step by its latest attempt; steps not reached are pending", async () => {
    renderGraph();
    const status = (key: string) => screen.getByTestId(`monitor-node-${key}`).getAttribute("data-status");
    expect(await screen.findByTestId("monitor-node-crm_pro")).toBeInTheDocument();
    expect(status("send_welcome")).toBe("completed");
    expect(status("check_plan")).toBe("completed");
    expect(status("crm_pro")).toBe("running");
    expect(status("crm_basic")).toBe("skipped");
    expect(status("join")).toBe("pending");
    expect(status("notify_slack")).toBe("pending");
    expect(screen.getByTestId("monitor-node-crm_pro")).toHaveClass("status-running");
  });

  it("badges each step with its attempt count, and none on steps never attempted", async () => {
    renderGraph();
    expect(await screen.findByTestId("monitor-node-attempts-crm_pro")).toHaveTextContent("×3");
    expect(screen.getByTestId("monitor-node-attempts-send_welcome")).toHaveTextContent("×1");
    expect(screen.queryByTestId("monitor-node-attempts-join")).not.toBeInTheDocument();
  });

  it("marks a replay's steps answered from a mock or the recording", async () => {
    const replay = execution([task("send_welcome", { mocked: true }), task("check_plan")], { is_replay: true });
    render(
      <div style={{ width: 1000, height: 500 }}>
        <MonitorGraph steps={SIGNUP_STEPS} tasks={replay.task_executions} selectedKey={null} onSelect={vi.fn()} />
      </div>,
    );
    expect(await screen.findByTestId("monitor-node-mocked-send_welcome")).toHaveTextContent("mocked");
    expect(screen.queryByTestId("monitor-node-mocked-check_plan")).not.toBeInTheDocument();
  });

  it("selects the clicked step", async () => {
    const onSelect = renderGraph();
    fireEvent.click(await screen.findByTestId("monitor-node-crm_pro"));
    expect(onSelect).toHaveBeenCalledWith("crm_pro");
  });
});

describe("MonitorGraph of a code workflow", () => {
  // A code version: steps without depends_on, its moves as `edges`; remind sleeps and runs again.
  const steps = [
    step("assign", [], { task_type: "code", start: true }),
    step("remind", [], { task_type: "code" }),
    step("escalate", [], { task_type: "code" }),
  ];
  const edges: DefinitionEdge[] = [
    { from: "assign", to: "remind", kind: "goto" },
    { from: "remind", to: "remind", kind: "sleep" },
    { from: "assign", to: "escalate", kind: "timeout" },
  ];
  const tasks = [
    task("assign", { task_type: "code" }),
    task("remind", { task_type: "code", visit: 1, is_latest: false }),
    task("remind", { task_type: "code", visit: 2, status: "failed", attempt_number: 1, is_latest: false }),
    task("remind", { task_type: "code", visit: 2, attempt_number: 2, is_latest: false }),
    task("remind", { task_type: "code", visit: 3, status: "waiting", attempt_number: 1, completed_at: null }),
  ];

  function renderCode() {
    const { container } = render(
      <div style={{ width: 1000, height: 500 }}>
        <MonitorGraph steps={steps} edges={edges} tasks={tasks} selectedKey={null} onSelect={vi.fn()} />
      </div>,
    );
    return container;
  }

  it("draws the moves, labelled, and colours each step by its latest visit's latest attempt", async () => {
    const container = renderCode();
    const node = async (key: string) => screen.findByTestId(`monitor-node-${key}`);
    expect((await node("assign")).dataset.status).toBe("completed");
    expect((await node("remind")).dataset.status).toBe("waiting");
    expect((await node("escalate")).dataset.status).toBe("pending");
    expect(await screen.findByText("start")).toBeInTheDocument();
    const drawn = [...container.querySelectorAll(".react-flow__edge")].map((e) => e.getAttribute("data-id"));
    expect(drawn.sort()).toEqual(["assign-goto->remind", "assign-timeout->escalate", "remind-sleep->remind"]);
    for (const kind of ["goto", "sleep", "timeout"]) expect(screen.getByText(kind)).toBeInTheDocument();
  });

  it("badges a step visited again with its visits, every attempt counted in the tooltip", async () => {
    renderCode();
    const remind = await screen.findByTestId("monitor-node-attempts-remind");
    expect(remind).toHaveTextContent("3 visits");
    expect(remind).toHaveAttribute("title", "4 attempts across 3 visits");
    expect(remind).toHaveClass("monitor-node-attempts-many");
    expect(screen.getByTestId("monitor-node-remind")).toHaveAttribute("data-attempts", "4");
    expect(screen.getByTestId("monitor-node-attempts-assign")).toHaveTextContent("×1");
    expect(screen.getByTestId("monitor-node-attempts-assign")).not.toHaveClass("monitor-node-attempts-many");
  });
});

describe("MonitorGraph of a big run", () => {
  // 300 steps without positions, in layers 20 wide: laid out when drawn.
  const steps = Array.from({ length: 300 }, (_, i) => step(`s${i}`, i >= 20 ? [`s${i - 20}`] : []));
  const tasks = steps.slice(0, 150).map((s) => task(s.key));

  it("zooms out until the whole graph fits, draws only the nodes in view, and those as simple boxes", async () => {
    const { container } = render(
      <div style={{ width: 1000, height: 500 }}>
        <MonitorGraph steps={steps} tasks={tasks} selectedKey={null} onSelect={vi.fn()} />
      </div>,
    );
    await waitFor(() => expect(container.querySelector('[data-testid="monitor-graph"]')).toHaveAttribute("data-zoomed-out", "true"), { timeout: 10_000 });
    const scale = () => Number(container.querySelector(".react-flow__viewport")?.getAttribute("style")?.match(/scale\(([0-9.e-]+)\)/)?.[1]);
    // Fitted: below the old floor of 0.2, at which a 300-step graph did not fit.
    await waitFor(() => expect(scale()).toBeLessThan(0.2));
    const drawn = container.querySelectorAll(".react-flow__node");
    expect(drawn.length).toBeGreaterThan(0);
    expect(drawn.length).toBeLessThanOrEqual(300);
    expect(container.querySelector(".monitor-node-far")).toBeInTheDocument();
    expect(container.querySelector(".monitor-node-icon")).not.toBeInTheDocument();
    expect(screen.getByTestId("monitor-node-s0")).toHaveAttribute("data-status", "completed");
  }, 60_000);

  it("draws only the nodes in view when zoomed in", async () => {
    const { container } = render(
      <div style={{ width: 1000, height: 500 }}>
        <MonitorGraph steps={steps} tasks={tasks} selectedKey={null} onSelect={vi.fn()} />
      </div>,
    );
    await screen.findByTestId("monitor-node-s0");
    fireEvent.click(screen.getByRole("button", { name: /zoom in/i }));
    for (let i = 0; i < 12; i += 1) fireEvent.click(screen.getByRole("button", { name: /zoom in/i }));
    await waitFor(() => expect(container.querySelectorAll(".react-flow__node").length).toBeLessThan(300));
  }, 60_000);
});

describe("fittingMinZoom", () => {
  it("is 0.2 for a graph that fits at 0.2, and less for one that does not", () => {
    expect(fittingMinZoom({ width: 1000, height: 400 }, { width: 1000, height: 500 })).toBe(0.2);
    const zoom = fittingMinZoom({ width: 40_000, height: 3_000 }, { width: 1000, height: 500 });
    expect(zoom).toBeLessThan(0.02);
    expect(40_000 * zoom).toBeLessThanOrEqual(1000 - 214);
  });
});
