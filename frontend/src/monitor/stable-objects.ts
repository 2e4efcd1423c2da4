/** Keeps each node's (or edge's) object from one render to the next while what it shows is unchanged,
 * so a selection or a live event hands React Flow new objects for the few that changed only: React Flow
 * keeps the internals of the others, and their memoised components do not render again. */
export interface Keeper<T> {
  base: unknown;
  kept: Map<string, { signature: string; value: T }>;
  list: T[];
}

export function newKeeper<T>(): Keeper<T> {
  return { base: null, kept: new Map(), list: [] };
}

/** The objects for `items` (built by `build` when their signature changed, else the kept ones) and the
 * keeper for the next call. `base`: what the items derive from (the laid-out graph); when it changes,
 * nothing is kept. The list itself is the previous one when no object changed. */
export function keepUnchanged<I extends { id: string }, T>(
  keeper: Keeper<T>, base: unknown, items: readonly I[], signature: (item: I) => string, build: (item: I) => T,
): Keeper<T> {
  const fresh = keeper.base !== base;
  const kept = new Map<string, { signature: string; value: T }>();
  let changed = fresh || keeper.list.length !== items.length;
  const list = items.map((item, index) => {
    const sign = signature(item);
    const previous = fresh ? undefined : keeper.kept.get(item.id);
    const value = previous && previous.signature === sign ? previous.value : build(item);
    kept.set(item.id, { signature: sign, value });
    if (!changed && keeper.list[index] !== value) changed = true;
    return value;
  });
  return { base, kept, list: changed ? list : keeper.list };
}
