import { fireEvent, render, screen } from "@testing-library/react";

import { MonitorGraph } from "./MonitorGraph";
import { installFlowEnv } from "./test-flow-env";
import { execution, SIGNUP_STEPS, task } from "./test-fixtures";

beforeAll(installFlowEnv);

const detail = execution([
  task("send_welcome"),
  task("check_plan"),
  task("crm_pro", { status: "failed", attempt_number: 1 }),
  task("crm_pro", { status: "failed", attempt_number: 2 }),
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

  it("selects the clicked step", async () => {
    const onSelect = renderGraph();
    fireEvent.click(await screen.findByTestId("monitor-node-crm_pro"));
    expect(onSelect).toHaveBeenCalledWith("crm_pro");
  });
});
