import { buildTimeline, formatOffset, place, segmentsOf, ticks } from "./gantt";
import { step, task } from "./test-fixtures";

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 10, 0, seconds)).toISOString();
const t = (seconds: number) => Date.parse(at(seconds));

describe("segmentsOf", () => {
  it("splits a finished attempt into its queued wait and its run", () => {
    const segments = segmentsOf(task("a", { queued_at: at(0), started_at: at(2), completed_at: at(5) }), t(60));
    expect(segments.map(({ kind, start, end, open }) => ({ kind, start, end, open }))).toEqual([
      { kind: "queued", start: t(0), end: t(2), open: false },
      { kind: "run", start: t(2), end: t(5), open: false },
    ]);
    expect(segments[1].status).toBe("completed");
  });

  it("lets a running attempt grow to now", () => {
    const [, run] = segmentsOf(task("a", { status: "running", queued_at: at(0), started_at: at(1), completed_at: null }), t(7));
    expect(run).toMatchObject({ kind: "run", start: t(1), end: t(7), open: true, status: "running" });
  });

  it("shows a scheduled retry's backoff, then its queue time once it has run", () => {
    const waiting = segmentsOf(task("a", { status: "retrying", attempt_number: 2, created_at: at(3), wake_at: at(9), queued_at: null, started_at: null, completed_at: null }), t(5));
    expect(waiting).toEqual([expect.objectContaining({ kind: "backoff", start: t(3), end: t(5), open: true })]);

    const ran = segmentsOf(task("a", { attempt_number: 2, created_at: at(3), wake_at: at(9), queued_at: at(9), started_at: at(10), completed_at: at(11) }), t(60));
    expect(ran.map((segment) => [segment.kind, segment.start, segment.end])).toEqual([
      ["backoff", t(3), t(9)], ["queued", t(9), t(10)], ["run", t(10), t(11)],
    ]);
  });

  it("draws nothing for an attempt that has not been queued", () => {
    expect(segmentsOf(task("a", { status: "pending", queued_at: null, started_at: null, completed_at: null }), t(5))).toEqual([]);
  });
});

describe("buildTimeline", () => {
  it("keeps one row per step in definition order and spans the whole run", () => {
    const timeline = buildTimeline(
      [step("first"), step("second"), step("never")],
      [
        task("second", { queued_at: at(4), started_at: at(4), completed_at: at(8) }),
        task("first", { queued_at: at(1), started_at: at(1), completed_at: at(3) }),
      ],
      t(100),
      { created_at: at(0), started_at: at(0), completed_at: at(10) },
    );
    expect(timeline.rows.map((row) => [row.stepKey, row.segments.length])).toEqual([["first", 2], ["second", 2], ["never", 0]]);
    expect([timeline.start, timeline.end]).toEqual([t(0), t(10)]);
  });

  it("reaches to now while an attempt is open, so it grows live", () => {
    const rows = [task("a", { status: "running", queued_at: at(0), started_at: at(0), completed_at: null })];
    expect(buildTimeline([step("a")], rows, t(30)).end).toBe(t(30));
    expect(buildTimeline([step("a")], rows, t(45)).end).toBe(t(45));
  });

  it("is at least a second wide", () => {
    const timeline = buildTimeline([step("a")], [task("a", { queued_at: at(0), started_at: at(0), completed_at: at(0) })], t(0));
    expect(timeline.end - timeline.start).toBe(1000);
  });
});

describe("place", () => {
  const span = { start: 0, end: 1000 };
  it("converts times to percent of the span", () => {
    expect(place(span, 250, 750)).toEqual({ left: 25, width: 50 });
  });
  it("keeps an instant visible and inside the track", () => {
    expect(place(span, 500, 500).width).toBeGreaterThan(0);
    const last = place(span, 1000, 1000, 1);
    expect(last.left + last.width).toBeLessThanOrEqual(100);
  });
});

describe("ticks and offsets", () => {
  it("chooses a round step with no more than the asked number of ticks", () => {
    expect(ticks(10_000)).toEqual([0, 2000, 4000, 6000, 8000, 10_000]);
    expect(ticks(3_600_000, 6)).toEqual([0, 600_000, 1_200_000, 1_800_000, 2_400_000, 3_000_000, 3_600_000]);
    expect(ticks(3_600_000, 4)).toEqual([0, 900_000, 1_800_000, 2_700_000, 3_600_000]);
  });
  it("formats offsets for the axis", () => {
    expect([0, 500, 15_000, 90_000, 5_400_000].map((offset) => formatOffset(offset))).toEqual(["0", "500 ms", "15 s", "1 min 30 s", "1 h 30 min"]);
  });
});
