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

describe("ReplayCompare of a big run", () => {
  // jsdom lays nothing out: the list's box is as tall as the stylesheet makes it, a row 41 px.
  beforeEach(() => {
    vi.spyOn(Element.prototype, "clientHeight", "get").mockImplementation(function (this: Element) {
      return this.getAttribute("data-testid") === "compare-scroll" ? 480 : 0;
    });
    vi.spyOn(Element.prototype, "clientWidth", "get").mockImplementation(() => 800);
    vi.spyOn(HTMLElement.prototype, "offsetHeight", "get").mockImplementation(function (this: HTMLElement) {
      return this.tagName === "TR" ? 41 : 0;
    });
  });
  afterEach(() => vi.restoreAllMocks());

  it("draws only the steps in view of its scrolling box", () => {
    const keys = Array.from({ length: 500 }, (_, i) => `s${i}`);
    const big = execution(keys.map((key) => task(key, { output_data: { n: 1 } })), { id: original.id, status: "completed" });
    const again = execution(keys.map((key) => task(key, { output_data: { n: key === "s0" ? 2 : 1 } })), { status: "completed", replay_of: original.id, is_replay: true });
    render(<MemoryRouter><ReplayCompare original={big} replay={again} /></MemoryRouter>);
    const drawn = screen.queryAllByTestId(/^compare-s\d+$/);
    expect(drawn.length).toBeGreaterThan(0);
    expect(drawn.length).toBeLessThan(60);
    expect(within(screen.getByTestId("compare-s0")).getByText("output differs")).toBeInTheDocument();
  });
});
