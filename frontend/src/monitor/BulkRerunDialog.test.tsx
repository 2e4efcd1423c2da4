import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";

import type { BulkRerunResult } from "@/lib/types";

import { BulkRerunDialog } from "./BulkRerunDialog";

const ID = "abcdef12-0000-0000-0000-000000000000";

function open(props: Partial<Parameters<typeof BulkRerunDialog>[0]> = {}) {
  const handlers = {
    preview: vi.fn(async (step: string): Promise<BulkRerunResult> => ({
      dry_run: true, count: 2, execution_ids: ["1", "2"],
      refused: step === "c" ? { [ID]: "'c' is not a step of v1" } : {} })),
    onRerun: vi.fn(async () => {}),
    onClose: vi.fn(),
  };
  render(<BulkRerunDialog what="3 selected executions" stepKeys={["b", "c"]} {...handlers} {...props} />);
  return handlers;
}

describe("BulkRerunDialog", () => {
  it("asks for the step, shows the dry run's count and refusals with reasons, then reruns", async () => {
    const { preview, onRerun } = open();
    expect(screen.getByRole("button", { name: "Rerun" })).toBeDisabled(); // no step chosen yet
    await userEvent.selectOptions(screen.getByLabelText("From step"), "c");
    expect(preview).toHaveBeenCalledWith("c");
    const shown = await screen.findByTestId("bulk-rerun-preview");
    expect(shown).toHaveTextContent("2 executions will rerun from c");
    expect(shown).toHaveTextContent("1 will not:");
    expect(shown).toHaveTextContent("#abcdef12 'c' is not a step of v1");
    await userEvent.click(screen.getByRole("button", { name: "Rerun 2" }));
    expect(onRerun).toHaveBeenCalledWith("c");
  });

  it("refuses with a message when the selection has no step in common", () => {
    open({ stepKeys: [], problem: "The selected executions have no step in common: select runs of one workflow." });
    expect(screen.getByRole("alert")).toHaveTextContent("no step in common");
    expect(screen.queryByLabelText("From step")).toBeNull();
  });

  it("cannot rerun when the dry run selects nothing", async () => {
    open({ preview: vi.fn(async () => ({ dry_run: true, count: 0, execution_ids: [], refused: {} })) });
    await userEvent.selectOptions(screen.getByLabelText("From step"), "b");
    await screen.findByTestId("bulk-rerun-preview");
    expect(screen.getByRole("button", { name: "Rerun 0" })).toBeDisabled();
  });
});
