import { formatAgo, formatCount, formatMs, formatRate } from "./format";

describe("formatRate", () => {
  it("writes fractions as percentages, with precision where it matters", () => {
    expect(formatRate(0.3)).toBe("30%");
    expect(formatRate(1)).toBe("100%");
    expect(formatRate(0)).toBe("0%");
    expect(formatRate(0.0123)).toBe("1.2%");
    expect(formatRate(0.05)).toBe("5%");
    expect(formatRate(0.0004)).toBe("0.04%");
    expect(formatRate(0.3333)).toBe("33%");
  });

  it("has no figure without runs", () => {
    expect(formatRate(null)).toBe("—");
    expect(formatRate(undefined)).toBe("—");
    expect(formatRate(Number.NaN)).toBe("—");
  });
});

describe("formatMs", () => {
  it("picks the unit by size", () => {
    expect(formatMs(0)).toBe("0 ms");
    expect(formatMs(850)).toBe("850 ms");
    expect(formatMs(1000)).toBe("1 s");
    expect(formatMs(1234)).toBe("1.23 s");
    expect(formatMs(12_500)).toBe("12.5 s");
    expect(formatMs(60_000)).toBe("1 min");
    expect(formatMs(125_000)).toBe("2 min 5 s");
    expect(formatMs(3_600_000)).toBe("1 h");
    expect(formatMs(7_500_000)).toBe("2 h 5 min");
    expect(formatMs(3 * 86_400_000)).toBe("3 d");
  });

  it("rounds 59.6 s up into minutes rather than writing 60 s", () => {
    expect(formatMs(59_960)).toBe("60 s");
    expect(formatMs(119_700)).toBe("2 min");
  });

  it("has no figure for null or nonsense", () => {
    expect(formatMs(null)).toBe("—");
    expect(formatMs(-5)).toBe("—");
  });
});

describe("formatCount and formatAgo", () => {
  it("separates thousands", () => {
    expect(formatCount(200_000)).toBe("200,000");
    expect(formatCount(null)).toBe("—");
  });

  it("says how long ago", () => {
    const now = Date.parse("2026-01-10T12:00:00Z");
    expect(formatAgo("2026-01-10T11:59:30Z", now)).toBe("just now");
    expect(formatAgo("2026-01-10T11:55:00Z", now)).toBe("5 min ago");
    expect(formatAgo("2026-01-10T09:00:00Z", now)).toBe("3 h ago");
    expect(formatAgo("2026-01-07T12:00:00Z", now)).toBe("3 d ago");
    expect(formatAgo(null, now)).toBe("—");
  });
});
