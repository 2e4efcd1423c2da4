import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import { EditResumeDialog } from "./EditResumeDialog";
import { execution, step, task } from "./test-fixtures";

const steps = [step("welcome"), step("crm", ["welcome"], { config: { url: "http://crm/v1" } })];
const run = execution([task("welcome"), task("crm", { status: "failed" })],
  { status: "failed", allowed_actions: ["retry", "edit", "cancel", "rerun"], input_data: { email: "typo@x" } });

function setup(error: string | null = null) {
  const onSubmit = vi.fn();
  const onClose = vi.fn();
  render(<EditResumeDialog execution={run} steps={steps} error={error} onSubmit={onSubmit} onClose={onClose} />);
  return { onSubmit, onClose, user: userEvent.setup() };
}

describe("EditResumeDialog", () => {
  it("shows the run's input and the failed step's config as they are now", () => {
    setup();
    expect(JSON.parse((screen.getByLabelText("Run input") as HTMLTextAreaElement).value)).toEqual({ email: "typo@x" });
    expect(JSON.parse((screen.getByLabelText(/Config of crm/) as HTMLTextAreaElement).value)).toEqual({ url: "http://crm/v1" });
    expect(screen.queryByLabelText(/Config of welcome/)).not.toBeInTheDocument();  // completed: kept, not edited
  });

  it("resumes with what the user changed", async () => {
    const { onSubmit, user } = setup();
    const config = screen.getByLabelText(/Config of crm/);
    await user.clear(config);
    await user.click(config);
    await user.paste('{"url": "http://crm/v2"}');
    await user.click(screen.getByRole("button", { name: "Resume with these values" }));
    expect(onSubmit).toHaveBeenCalledWith({ steps: { crm: { config: { url: "http://crm/v2" } } } });
  });

  it("does not send text that is not a JSON object, and says why", async () => {
    const { onSubmit, user } = setup();
    const input = screen.getByLabelText("Run input");
    await user.clear(input);
    await user.click(input);
    await user.paste("[1, 2]");
    await user.click(screen.getByRole("button", { name: "Resume with these values" }));
    expect(onSubmit).not.toHaveBeenCalled();
    expect(screen.getByRole("alert")).toHaveTextContent("Input: must be a JSON object");
  });

  it("shows the server's refusal as it said it", () => {
    setup("overrides.steps.crm.config.url: this field is required");
    expect(screen.getByRole("alert")).toHaveTextContent("overrides.steps.crm.config.url: this field is required");
  });
});
