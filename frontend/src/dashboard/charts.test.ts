import { bars, bucketLabel, labelIndexes, niceScale, throughputLayout, topBy } from "./charts";
import type { ThroughputBucket } from "./types";

const bucket = (start: string, completed: number, failed: number): ThroughputBucket => ({ start, started: completed + failed, completed, failed });

describe("niceScale", () => {
  it("rounds the top up to 1, 2 or 5 steps", () => {
    expect(niceScale(10)).toEqual({ max: 10, ticks: [0, 5, 10] });
    expect(niceScale(7)).toEqual({ max: 8, ticks: [0, 2, 4, 6, 8] });
    expect(niceScale(3)).toEqual({ max: 3, ticks: [0, 1, 2, 3] });
    expect(niceScale(930)).toEqual({ max: 1000, ticks: [0, 500, 1000] });
  });

  it("keeps whole steps for counts, fractions otherwise", () => {
    expect(niceScale(1).ticks).toEqual([0, 1]);
    expect(niceScale(0.3, 3, { integer: false })).toEqual({ max: 0.3, ticks: [0, 0.1, 0.2, 0.3] });
  });

  it("has an axis even with nothing to show", () => {
    expect(niceScale(0)).toEqual({ max: 1, ticks: [0, 1] });
  });
});

describe("bars", () => {
  it("scales to the largest value, or to a given max", () => {
    const rows = [{ v: 50 }, { v: 100 }, { v: null }, { v: 0 }];
    expect(bars(rows, (r) => r.v).map((b) => b.fraction)).toEqual([0.5, 1, 0, 0]);
    expect(bars([{ v: 0.3 }], (r) => r.v, { max: 1 })[0].fraction).toBeCloseTo(0.3);
  });

  it("keeps a tiny value visible and never overflows the track", () => {
    expect(bars([{ v: 1 }, { v: 10_000 }], (r) => r.v)[0].fraction).toBe(0.01);
    expect(bars([{ v: 2 }], (r) => r.v, { max: 1 })[0].fraction).toBe(1);
  });
});

describe("topBy", () => {
  it("takes the highest values first, nulls last, ties in order", () => {
    const rows = [{ k: "a", v: 0.1 }, { k: "b", v: null }, { k: "c", v: 0.3 }, { k: "d", v: 0.1 }];
    expect(topBy(rows, (r) => r.v, 3).map((r) => r.k)).toEqual(["c", "a", "d"]);
  });
});

describe("throughputLayout", () => {
  const buckets = [bucket("2026-01-10T10:00:00Z", 7, 3), bucket("2026-01-10T10:15:00Z", 0, 0), bucket("2026-01-10T10:30:00Z", 4, 1)];

  it("stacks failed on completed, in proportion to the axis", () => {
    const layout = throughputLayout(buckets, 300, 100);
    expect(layout.scale.max).toBe(10);
    const [first, empty, third] = layout.columns;
    // 7 completed of an axis of 10 in 100 units: 70 units high, standing on the axis.
    expect(first.completed).toEqual({ y: 30, height: 70 });
    expect(first.failed).toEqual({ y: 0, height: 30 });
    expect(empty.completed.height).toBe(0);
    expect(empty.failed.height).toBe(0);
    expect(third.completed).toEqual({ y: 60, height: 40 });
    expect(third.failed).toEqual({ y: 50, height: 10 });
  });

  it("gives each bucket an equal band, the bar centred in it", () => {
    const layout = throughputLayout(buckets, 300, 100);
    expect(layout.columns.map((c) => c.width)).toEqual([80, 80, 80]);
    expect(layout.columns.map((c) => c.x)).toEqual([10, 110, 210]);
    expect(layout.ticks).toEqual([{ value: 0, y: 100 }, { value: 5, y: 50 }, { value: 10, y: 0 }]);
  });

  it("leaves no gap between very narrow bars", () => {
    const many = Array.from({ length: 200 }, (_, i) => bucket(new Date(Date.UTC(2026, 0, 1) + i * 60_000).toISOString(), 1, 0));
    const layout = throughputLayout(many, 400, 100);
    expect(layout.columns[0].width).toBe(2);
    expect(layout.columns[199].x + layout.columns[199].width).toBe(400);
  });
});

describe("the time axis", () => {
  it("labels about six evenly spaced buckets", () => {
    expect(labelIndexes(96)).toEqual([0, 16, 32, 48, 64, 80]);
    expect(labelIndexes(3)).toEqual([0, 1, 2]);
    expect(labelIndexes(0)).toEqual([]);
  });

  it("writes times of day for short buckets and dates for days", () => {
    const iso = "2026-03-05T09:05:00Z";
    const local = new Date(iso);
    const hhmm = `${String(local.getHours()).padStart(2, "0")}:${String(local.getMinutes()).padStart(2, "0")}`;
    expect(bucketLabel(iso, 900)).toBe(hhmm);
    expect(bucketLabel(iso, 86_400)).toBe(`${local.getMonth() + 1}/${local.getDate()}`);
  });
});
