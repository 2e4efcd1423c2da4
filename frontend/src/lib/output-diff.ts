/** A replay against its original, step by step (docs/adr/0026): the diff of two outputs (keys changed,
 * added, removed, by dotted path) and the comparison of two runs' current attempts. Pure: no React. */
import type { TaskExecution } from "@/lib/types";

export type ChangeKind = "changed" | "added" | "removed";

export interface Change {
  /** Dotted path to the value ("body.id", "items.2"); "" for the whole output. */
  path: string;
  kind: ChangeKind;
  before?: unknown;
  after?: unknown;
}

type Json = unknown;

const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

/** Deep equality of JSON values (key order does not matter). */
export function sameJson(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, i) => sameJson(item, b[i]));
  if (isObject(a) && isObject(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => key in b && sameJson(a[key], b[key]));
  }
  return false;
}

const join = (path: string, key: string) => (path ? `${path}.${key}` : key);

/** What changed from `before` to `after`: objects are compared key by key and arrays item by item, down to
 * `maxDepth` levels; below that (or between values of different shapes) a difference is one change. At most
 * `limit` changes are listed (an output can be large); sorted by path. */
export function diffOutputs(before: Json, after: Json, { maxDepth = 20, limit = 500 } = {}): Change[] {
  const changes: Change[] = [];
  const walk = (a: Json, b: Json, path: string, depth: number) => {
    if (changes.length >= limit) return;
    const bothObjects = isObject(a) && isObject(b);
    const bothArrays = Array.isArray(a) && Array.isArray(b);
    if ((!bothObjects && !bothArrays) || depth >= maxDepth) {
      if (!sameJson(a, b)) changes.push({ path, kind: "changed", before: a, after: b });
      return;
    }
    const left = a as Record<string, Json>;
    const right = b as Record<string, Json>;
    const keys = bothArrays
      ? Array.from({ length: Math.max((a as Json[]).length, (b as Json[]).length) }, (_, i) => String(i))
      : [...new Set([...Object.keys(left), ...Object.keys(right)])];
    for (const key of keys) {
      const inLeft = bothArrays ? Number(key) < (a as Json[]).length : key in left;
      const inRight = bothArrays ? Number(key) < (b as Json[]).length : key in right;
      const at = join(path, key);
      if (inLeft && !inRight) changes.push({ path: at, kind: "removed", before: left[key] });
      else if (!inLeft && inRight) changes.push({ path: at, kind: "added", after: right[key] });
      else walk(left[key], right[key], at, depth + 1);
      if (changes.length >= limit) return;
    }
  };
  walk(before, after, "", 0);
  return changes.slice(0, limit).sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

export type StepComparison = "same" | "changed" | "only_in_original" | "only_in_replay" | "not_completed";

export interface ComparedStep {
  stepKey: string;
  original?: TaskExecution;
  replay?: TaskExecution;
  /** The replay's attempt answered from a mock or the original's output instead of running. */
  mocked: boolean;
  comparison: StepComparison;
  changes: Change[];
}

const current = (tasks: TaskExecution[]) => {
  const byKey = new Map<string, TaskExecution>();
  for (const task of tasks) if (task.is_latest) byKey.set(task.step_key, task);
  return byKey;
};

/** Each step of either run, in the replay's order then the original's: its current attempt in both, and how
 * their outputs compare (only completed attempts are compared; anything else is "not_completed"). */
export function compareRuns(original: TaskExecution[], replay: TaskExecution[]): ComparedStep[] {
  const before = current(original);
  const after = current(replay);
  const keys = [...new Set([...after.keys(), ...before.keys()])];
  return keys.map((stepKey) => {
    const a = before.get(stepKey);
    const b = after.get(stepKey);
    const mocked = Boolean(b?.mocked);
    if (!b) return { stepKey, original: a, mocked, comparison: "only_in_original", changes: [] };
    if (!a) return { stepKey, replay: b, mocked, comparison: "only_in_replay", changes: [] };
    if (a.status !== "completed" || b.status !== "completed") {
      return { stepKey, original: a, replay: b, mocked, comparison: "not_completed", changes: [] };
    }
    const changes = diffOutputs(a.output_data, b.output_data);
    return { stepKey, original: a, replay: b, mocked, comparison: changes.length ? "changed" : "same", changes };
  });
}

/** The replay dialog's mocks field: "" is no mocks; else a JSON object of objects by step key. Answers the
 * mocks or a message (the server checks the rest: keys of the version, size). */
export function parseMocks(text: string): { mocks: Record<string, Record<string, unknown>> } | { error: string } {
  if (!text.trim()) return { mocks: {} };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { error: `not JSON: ${(error as Error).message}` };
  }
  if (!isObject(value)) return { error: 'must be a JSON object: {"<step key>": {...output}}' };
  for (const [key, output] of Object.entries(value)) {
    if (!isObject(output)) return { error: `${key}: a step's output is a JSON object` };
  }
  return { mocks: value as Record<string, Record<string, unknown>> };
}
