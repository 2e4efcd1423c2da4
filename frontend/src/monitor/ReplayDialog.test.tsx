import { fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { ReplayDialog } from "./ReplayDialog";
import { execution } from "./test-fixtures";

function renderDialog(props: Partial<Parameters<typeof ReplayDialog>[0]> = {}) {
  const handlers = { onReplay: vi.fn(), onClose: vi.fn() };
  render(<ReplayDialog execution={execution([], { status: "completed", workflow_version: 2 })} latest={3} {...handlers} {...props} />);
  return handlers;
}

describe("ReplayDialog", () => {
  it("replays the run's own version with no mocks by default", async () => {
    const { onReplay } = renderDialog();
    expect(screen.getByText("The latest version (v3)")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Replay" }));
    expect(onReplay).toHaveBeenCalledWith({ version: "original", mocks: {} });
  });

  it("sends the latest version or a number, and the mocks given", async () => {
    const { onReplay } = renderDialog();
    await userEvent.click(screen.getByLabelText(/The latest version/));
    fireEvent.change(screen.getByLabelText("Mocks"), { target: { value: '{"crm": {"id": 7}}' } });
    await userEvent.click(screen.getByRole("button", { name: "Replay" }));
    expect(onReplay).toHaveBeenLastCalledWith({ version: "latest", mocks: { crm: { id: 7 } } });

    fireEvent.change(screen.getByLabelText("Version number"), { target: { value: "1" } });
    await userEvent.click(screen.getByRole("button", { name: "Replay" }));
    expect(onReplay).toHaveBeenLastCalledWith({ version: 1, mocks: { crm: { id: 7 } } });
  });

  it("says what is wrong with the mocks and sends nothing", async () => {
    const { onReplay } = renderDialog();
    fireEvent.change(screen.getByLabelText("Mocks"), { target: { value: '{"crm": 1}' } });
    await userEvent.click(screen.getByRole("button", { name: "Replay" }));
    expect(screen.getByRole("alert")).toHaveTextContent("crm: a step's output is a JSON object");
    expect(onReplay).not.toHaveBeenCalled();
  });

  it("shows what the server refused", () => {
    renderDialog({ error: "mocks: not steps of the replayed version: 'nope'" });
    expect(screen.getByRole("alert")).toHaveTextContent("not steps of the replayed version");
  });
});
