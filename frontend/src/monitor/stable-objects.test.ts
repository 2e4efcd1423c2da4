import { keepUnchanged, newKeeper } from "./stable-objects";

describe("keepUnchanged", () => {
  const items = (statuses: string[]) => statuses.map((status, i) => ({ id: `s${i}`, status }));
  const build = vi.fn((item: { id: string; status: string }) => ({ ...item, built: true }));

  it("rebuilds only the items whose signature changed, and keeps the list when none did", () => {
    const base = {};
    const first = keepUnchanged(newKeeper(), base, items(["a", "b", "c"]), (i) => i.status, build);
    expect(build).toHaveBeenCalledTimes(3);
    const second = keepUnchanged(first, base, items(["a", "x", "c"]), (i) => i.status, build);
    expect(build).toHaveBeenCalledTimes(4);
    expect(second.list[0]).toBe(first.list[0]);
    expect(second.list[1]).not.toBe(first.list[1]);
    expect(second.list[2]).toBe(first.list[2]);
    const third = keepUnchanged(second, base, items(["a", "x", "c"]), (i) => i.status, build);
    expect(third.list).toBe(second.list);
  });

  it("keeps nothing when what the items derive from changed", () => {
    const first = keepUnchanged(newKeeper(), {}, items(["a"]), (i) => i.status, build);
    const second = keepUnchanged(first, {}, items(["a"]), (i) => i.status, build);
    expect(second.list[0]).not.toBe(first.list[0]);
  });
});
