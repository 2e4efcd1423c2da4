import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { RunDialog } from "./RunDialog";

function open(workflowId: string, initialInput: Record<string, unknown>, onRun = vi.fn(async () => {})) {
  const view = render(<RunDialog workflowId={workflowId} initialInput={initialInput} dirty={false} active onRun={onRun}
                                 onClose={() => {}} />);
  return { ...view, onRun, input: () => screen.getByLabelText("Input (JSON)") as HTMLTextAreaElement };
}

describe("the Run dialog remembers the last input per workflow", () => {
  beforeEach(() => localStorage.clear());

  it("opens with the given input the first time, then with the input last run", async () => {
    const first = open("w1", { plan: "pro" });
    expect(JSON.parse(first.input().value)).toEqual({ plan: "pro" });
    await userEvent.clear(first.input());
    await userEvent.click(first.input());
    await userEvent.paste('{"plan": "free", "n": 2}');
    await userEvent.click(screen.getByRole("button", { name: "Run" }));
    expect(first.onRun).toHaveBeenCalledWith({ plan: "free", n: 2 }, { save: false, activate: false, testRun: false });
    first.unmount();

    const again = open("w1", { plan: "pro" });
    expect(JSON.parse(again.input().value)).toEqual({ plan: "free", n: 2 });
    again.unmount();
    const other = open("w2", { plan: "pro" });
    expect(JSON.parse(other.input().value)).toEqual({ plan: "pro" }); // another workflow's is its own
  });

  it("does not remember an input that is not valid JSON (it cannot be run)", async () => {
    const dialog = open("w1", {});
    await userEvent.clear(dialog.input());
    await userEvent.click(dialog.input());
    await userEvent.paste("{nope");
    expect(screen.getByRole("button", { name: "Run" })).toBeDisabled();
    dialog.unmount();
    expect(JSON.parse(open("w1", { a: 1 }).input().value)).toEqual({ a: 1 });
  });
});

describe("a test run with pinned data", () => {
  beforeEach(() => localStorage.clear());

  function openWith(pinnedSteps: string[], onRun = vi.fn(async () => {})) {
    render(<RunDialog workflowId="w1" initialInput={{}} dirty={false} active pinnedSteps={pinnedSteps} onRun={onRun}
                      onClose={() => {}} />);
    return onRun;
  }

  it("is offered, on by default, when steps have pinned outputs, and names them", async () => {
    const onRun = openWith(["crm", "slack"]);
    const option = screen.getByLabelText("Test run with pinned data") as HTMLInputElement;
    expect(option.checked).toBe(true);
    expect(screen.getByText("crm, slack")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Test run" }));
    expect(onRun).toHaveBeenCalledWith({}, { save: false, activate: false, testRun: true });
  });

  it("can be turned off for a normal run", async () => {
    const onRun = openWith(["crm"]);
    await userEvent.click(screen.getByLabelText("Test run with pinned data"));
    expect(screen.getByText(/every step runs for real/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Run" }));
    expect(onRun).toHaveBeenCalledWith({}, { save: false, activate: false, testRun: false });
  });

  it("is not offered without pins", () => {
    openWith([]);
    expect(screen.queryByLabelText("Test run with pinned data")).toBeNull();
    expect(screen.getByRole("button", { name: "Run" })).toBeEnabled();
  });
});
