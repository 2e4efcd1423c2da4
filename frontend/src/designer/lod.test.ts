import { isZoomedOut, LOD_ZOOM, minZoomFor } from "./lod";

describe("level of detail", () => {
  it("switches to simple nodes and edges below the threshold zoom, back above it", () => {
    expect(isZoomedOut(1)).toBe(false);
    expect(isZoomedOut(LOD_ZOOM)).toBe(false);
    expect(isZoomedOut(LOD_ZOOM - 0.01)).toBe(true);
    expect(isZoomedOut(0.05)).toBe(true);
  });

  it("allows a zoom low enough to fit a big graph, and no lower than needed for a small one", () => {
    const view = { width: 1000, height: 700 };
    expect(minZoomFor({ width: 800, height: 400 }, view)).toBe(0.1);
    // A 1,000-step chain: 1,000 layers of 310 px.
    const chain = minZoomFor({ width: 310_000, height: 64 }, view);
    expect(chain).toBeLessThan(1000 / 310_000);
    expect(chain).toBeGreaterThan(0.0001);
    expect(minZoomFor({ width: 1e9, height: 10 }, view)).toBe(0.0001);
    expect(minZoomFor({ width: 0, height: 0 }, view)).toBe(0.1);
  });
});
