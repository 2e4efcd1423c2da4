import { render, screen, within } from "@testing-library/react";
import { MemoryRouter } from "react-router";

import { ReplayCompare } from "./ReplayCompare";
import { execution, task } from "./test-fixtures";

const original = execution([
  task("shape", { output_data: { result: { name: "Ada", tier: "basic" } } }),
  task("crm", { output_data: { status_code: 201, body: { id: "c-1" } } }),
  task("slack", { output_data: { status_code: 200 } }),
], { id: "aaaaaaaa-0000-0000-0000-000000000000", status: "completed" });

const replay = execution([
  task("shape", { output_data: { result: { name: "Ada", tier: "gold", vip: true } } }),
  task("crm", { output_data: { status_code: 201, body: { id: "c-1" } }, mocked: true }),
  task("slack", { output_data: { status_code: 200, body: "mocked" }, mocked: true }),
], { status: "completed", workflow_version: 2, replay_of: original.id, is_replay: true });

describe("ReplayCompare", () => {
  it("shows each step against the original, the mocked ones marked, with the output's changes", () => {
    render(<MemoryRouter><ReplayCompare original={original} replay={replay} /></MemoryRouter>);
    expect(screen.getByRole("link", { name: "#aaaaaaaa" })).toHaveAttribute("href", `/executions/${original.id}`);

    const shape = within(screen.getByTestId("compare-shape"));
    expect(shape.getByText("output differs")).toBeInTheDocument();
    expect(shape.queryByText("mocked")).toBeNull();
    expect(shape.getByTestId("change-changed")).toHaveTextContent('result.tier "basic" → "gold"');
    expect(shape.getByTestId("change-added")).toHaveTextContent("result.vip true");

    const crm = within(screen.getByTestId("compare-crm"));
    expect(crm.getByText("mocked")).toBeInTheDocument();
    expect(crm.getByText("same output")).toBeInTheDocument();

    const slack = within(screen.getByTestId("compare-slack"));
    expect(slack.getByText("mocked")).toBeInTheDocument();
    expect(slack.getByTestId("change-added")).toHaveTextContent('body "mocked"');
  });
});
