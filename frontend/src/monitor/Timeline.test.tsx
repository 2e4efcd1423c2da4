import { fireEvent, render, screen, within } from "@testing-library/react";

import { Timeline } from "./Timeline";
import { execution, step, task } from "./test-fixtures";

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, seconds)).toISOString();
const steps = [step("fetch"), step("crm"), step("notify")];

function run(now: number, status: "running" | "failed" = "running") {
  return {
    detail: execution([
      task("fetch", { queued_at: at(0), started_at: at(0), completed_at: at(10) }),
      task("crm", { status: "failed", attempt_number: 1, is_latest: false, queued_at: at(10), started_at: at(12), completed_at: at(15), error_message: "boom" }),
      task("crm", { status: "running", attempt_number: 2, created_at: at(15), wake_at: at(20), queued_at: at(20), started_at: at(21), completed_at: null }),
    ], { status, started_at: at(0) }),
    now: Date.parse(at(0)) + now * 1000,
  };
}

describe("Timeline", () => {
  it("draws one row per step with a bar per phase of each attempt, coloured by status", () => {
    const { detail, now } = run(30);
    render(<Timeline execution={detail} steps={steps} now={now} selectedKey={null} onSelect={() => {}} />);
    const crm = within(screen.getByTestId("timeline-row-crm")).getAllByTestId("timeline-segment");
    expect(crm.map((bar) => `${bar.dataset.kind}:${bar.dataset.status}`)).toEqual([
      "queued:queued", "run:failed", "backoff:retrying", "queued:queued", "run:running",
    ]);
    expect(within(screen.getByTestId("timeline-row-notify")).queryAllByTestId("timeline-segment")).toHaveLength(0);
    expect(screen.getByTestId("timeline-row-notify")).toHaveTextContent("not started");
  });

  it("places bars on the run's time axis and lets a running attempt grow with now", () => {
    const first = run(30);
    const { rerender } = render(<Timeline execution={first.detail} steps={steps} now={first.now} selectedKey={null} onSelect={() => {}} />);
    const fetchBar = () => within(screen.getByTestId("timeline-row-fetch")).getAllByTestId("timeline-segment")[1];
    const running = () => within(screen.getByTestId("timeline-row-crm")).getAllByTestId("timeline-segment")[4];
    // fetch ran 0-10 s of a 30 s span; crm's second attempt runs from 21 s to now.
    expect(parseFloat(fetchBar().style.width)).toBeCloseTo(33.33, 1);
    expect(parseFloat(running().style.left)).toBeCloseTo(70, 1);
    expect(running().title).toContain("crm · attempt 2 · running");

    const later = run(60);
    rerender(<Timeline execution={later.detail} steps={steps} now={later.now} selectedKey={null} onSelect={() => {}} />);
    expect(parseFloat(fetchBar().style.width)).toBeCloseTo(16.67, 1);
    expect(parseFloat(running().style.left) + parseFloat(running().style.width)).toBeCloseTo(100, 1);
  });

  it("selects a step from its row label", () => {
    const onSelect = vi.fn();
    const { detail, now } = run(30, "failed");
    render(<Timeline execution={detail} steps={steps} now={now} selectedKey={null} onSelect={onSelect} />);
    fireEvent.click(within(screen.getByTestId("timeline-row-crm")).getByRole("button", { name: "crm" }));
    expect(onSelect).toHaveBeenCalledWith("crm");
  });
});

describe("Timeline of a long run", () => {
  const many = Array.from({ length: 500 }, (_, i) => step(`s${i}`));
  const detail = execution(many.slice(0, 250).map((s, i) => task(s.key, { queued_at: at(i % 50), started_at: at(i % 50), completed_at: at((i % 50) + 1) })),
                           { status: "running", started_at: at(0) });

  // jsdom lays nothing out: the scrolling box is as tall as the stylesheet makes it in a browser.
  beforeEach(() => {
    vi.spyOn(Element.prototype, "clientHeight", "get").mockImplementation(function (this: Element) {
      return this.getAttribute("data-testid") === "timeline-scroll" ? 392 : 0;
    });
    vi.spyOn(Element.prototype, "clientWidth", "get").mockImplementation(() => 800);
  });
  afterEach(() => vi.restoreAllMocks());

  it("draws only the rows in view of its scrolling box, and the others as it scrolls", () => {
    render(<Timeline execution={detail} steps={many} now={Date.parse(at(59))} selectedKey={null} onSelect={() => {}} />);
    const shown = () => screen.queryAllByTestId(/^timeline-row-/).map((row) => row.dataset.testid);
    expect(shown().length).toBeGreaterThan(0);
    expect(shown().length).toBeLessThan(40);
    expect(shown()).toContain("timeline-row-s0");
    const box = screen.getByTestId("timeline-scroll");
    box.scrollTop = 300 * 28;
    fireEvent.scroll(box);
    expect(shown()).toContain("timeline-row-s300");
    expect(shown()).not.toContain("timeline-row-s0");
    expect(within(screen.getByTestId("timeline-row-s300")).getByText("not started")).toBeInTheDocument();
  });
});
