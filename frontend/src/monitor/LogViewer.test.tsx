import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";

import type { ExecutionLog, LogLevel } from "@/lib/types";

import { LogViewer } from "./LogViewer";

const line = (id: number, level: LogLevel, step_key: string, message: string): ExecutionLog => ({
  id, level, step_key, message, event: "step.log", task_execution: null, details: {},
  timestamp: new Date(Date.UTC(2026, 0, 1, 10, 0, id)).toISOString(),
});

const LINES = [
  line(1, "debug", "fetch", "payload built"),
  line(2, "info", "fetch", "fetch started"),
  line(3, "warning", "crm", "slow answer"),
  line(4, "error", "crm", "crm said 500"),
];

function Harness({ initial = "info" as LogLevel, lines = LINES }) {
  const [level, setLevel] = useState<LogLevel>(initial);
  const [stepKey, setStepKey] = useState<string | null>(null);
  return <LogViewer lines={lines} level={level} onLevel={setLevel} stepKey={stepKey} onStepKey={setStepKey} />;
}

const messages = () => screen.queryAllByTestId("log-line").map((el) => el.querySelector(".monitor-log-message")!.textContent!.replace(/^step\.log /, ""));

describe("LogViewer", () => {
  it("shows the chosen level and above", async () => {
    const user = userEvent.setup();
    render(<Harness />);
    expect(messages()).toEqual(["fetch started", "slow answer", "crm said 500"]);

    await user.click(screen.getByRole("radio", { name: "warning" }));
    expect(screen.getByRole("radio", { name: "warning" })).toHaveAttribute("aria-checked", "true");
    expect(messages()).toEqual(["slow answer", "crm said 500"]);

    await user.click(screen.getByRole("radio", { name: "debug" }));
    expect(messages()).toEqual(["payload built", "fetch started", "slow answer", "crm said 500"]);
  });

  it("narrows to one step by clicking its key, and widens again", async () => {
    const user = userEvent.setup();
    render(<Harness initial="debug" />);
    await user.click(screen.getAllByRole("button", { name: "crm" })[0]);
    expect(messages()).toEqual(["slow answer", "crm said 500"]);
    await user.click(screen.getByRole("button", { name: "Show every step" }));
    expect(messages()).toHaveLength(4);
  });

  it("says so when nothing is at the level yet", () => {
    render(<Harness initial="error" lines={LINES.slice(0, 2)} />);
    expect(screen.getByText("No log lines at error or above yet.")).toBeInTheDocument();
  });
});

describe("LogViewer of a long run", () => {
  // jsdom lays nothing out: the log's box is as tall as the stylesheet makes it (340 px).
  beforeEach(() => {
    vi.spyOn(Element.prototype, "clientHeight", "get").mockImplementation(function (this: Element) {
      return this.getAttribute("role") === "log" ? 340 : 0;
    });
    vi.spyOn(Element.prototype, "clientWidth", "get").mockImplementation(() => 800);
    vi.spyOn(HTMLElement.prototype, "offsetHeight", "get").mockImplementation(function (this: HTMLElement) {
      return this.classList.contains("monitor-logs-row") ? 22 : 0;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it("draws only the lines in view, and counts them all", () => {
    const many = Array.from({ length: 1500 }, (_, i) => line(i + 1, "info", `s${i % 500}`, `line ${i + 1}`));
    render(<Harness lines={many} />);
    const drawn = screen.queryAllByTestId("log-line");
    expect(drawn.length).toBeGreaterThan(0);
    expect(drawn.length).toBeLessThan(100);
    expect(screen.getByText("1500 lines")).toBeInTheDocument();
  });
});
