import { createHmac } from "node:crypto";
import { execFileSync } from "node:child_process";

import { stepsToFlow } from "./graph";
import {
  DRAFT_TRIGGER, formatFire, rootSteps, signingRecipe, triggerEdges, triggerNodes, triggerPosition, triggerSummary,
  type Trigger,
} from "./triggers";
import type { StepDefinition } from "./types";

const step = (key: string, depends_on: string[] = [], x = 0, y = 0): StepDefinition => ({
  key, name: key, task_type: "log", config: {}, depends_on, step_order: 0, when: "", position: { x, y },
});

const trigger = (id: string, over: Partial<Trigger> = {}): Trigger => ({
  id, workflow: "w", type: "webhook", name: "", enabled: true, url: `http://example.test/hooks/${id}/`,
  require_signature: true, include_headers: [], cron: "", timezone: "UTC", missed_fires: "skip", catch_up_limit: 3,
  last_fired_at: null, next_fire_times: null, event_name: "", offset_minutes: 0, created_at: "", updated_at: "", ...over,
});

describe("trigger nodes", () => {
  const { nodes, edges } = stepsToFlow([step("a", [], 300, 0), step("b", [], 300, 200), step("c", ["a", "b"], 600, 100)]);

  it("start at the steps that depend on nothing", () => {
    expect(rootSteps(nodes, edges).map((n) => n.id)).toEqual(["a", "b"]);
  });

  it("stand in a column left of the starting steps, centred on them", () => {
    const first = triggerPosition(0, 2, nodes, edges);
    const second = triggerPosition(1, 2, nodes, edges);
    expect(first.x).toBeLessThan(300 - 220);
    expect(second.x).toBe(first.x);
    expect(second.y - first.y).toBe(64 + 30);
    expect((first.y + second.y) / 2).toBe(100); // the middle of a (y 0) and b (y 200)
    expect(triggerPosition(0, 1, [], [])).toEqual({ x: -330, y: 0 });
  });

  it("keep where a node was dragged and its selection; a draft goes where it was dropped", () => {
    const placed = triggerNodes([trigger("t1")], null, [], nodes, edges);
    expect(placed.map((n) => n.id)).toEqual(["trigger:t1"]);
    const moved = [{ ...placed[0], position: { x: -999, y: 5 }, selected: true }];
    const again = triggerNodes([trigger("t1", { name: "renamed" })], "schedule", moved, nodes, edges, { x: 10, y: 20 });
    expect(again[0]).toMatchObject({ position: { x: -999, y: 5 }, selected: true, data: { trigger: { name: "renamed" } } });
    expect(again[1]).toMatchObject({ id: DRAFT_TRIGGER, position: { x: 10, y: 20 }, data: { kind: "schedule", trigger: null } });
  });

  it("put a trigger added by a click below the ones already shown, not onto one of them", () => {
    const shown = triggerNodes([trigger("t1")], null, [], nodes, edges);
    const added = triggerNodes([trigger("t1")], "schedule", shown, nodes, edges);
    expect(added[0].position).toEqual(shown[0].position);
    expect(added[1]).toMatchObject({ id: DRAFT_TRIGGER, position: { x: shown[0].position.x, y: shown[0].position.y + 64 + 30 } });
    const third = triggerNodes([trigger("t1"), trigger("t2")], "event", added.map((n, i) => (i ? { ...n, id: "trigger:t2" } : n)), nodes, edges);
    expect(third[2].position).toEqual({ x: shown[0].position.x, y: shown[0].position.y + 2 * (64 + 30) });
  });

  it("draw a dashed edge from every trigger to every starting step, never selectable", () => {
    const placed = triggerNodes([trigger("t1"), trigger("t2")], null, [], nodes, edges);
    const drawn = triggerEdges(placed, nodes, edges);
    expect(drawn.map((e) => e.id)).toEqual(["trigger:t1->a", "trigger:t1->b", "trigger:t2->a", "trigger:t2->b"]);
    expect(drawn.every((e) => e.selectable === false && e.deletable === false)).toBe(true);
  });

  it("summarise what starts the run", () => {
    expect(triggerSummary("schedule", trigger("s", { type: "schedule", cron: "0 9 * * 1-5", timezone: "Europe/Paris" })))
      .toBe("0 9 * * 1-5 · Europe/Paris");
    expect(triggerSummary("event", trigger("e", { type: "event", event_name: "trial_ended", offset_minutes: -30, enabled: false })))
      .toBe("on trial_ended -30 min · paused");
    expect(triggerSummary("webhook", null)).toBe("Not added yet");
  });
});

describe("the signing recipe", () => {
  const url = "http://127.0.0.1:8000/hooks/abc/";
  const secret = "s3cret";

  it("computes in the shell the signature the server expects", () => {
    const { curl } = signingRecipe(url, secret);
    expect(curl).toContain(`curl -X POST '${url}'`);
    // Run its signing lines (not the curl) with a fixed time, and compare with Node's HMAC.
    const lines = curl.split("\n").filter((l) => !l.startsWith("curl") && !l.startsWith("  ")).map((l) => l.replace("TS=$(date +%s)", "TS=1700000000"));
    const sig = execFileSync("bash", ["-c", `${lines.join("\n")}\nprintf '%s' "$SIG"`]).toString();
    const body = '{"hello": "world"}';
    expect(sig).toBe(createHmac("sha256", secret).update(`1700000000.${body}`).digest("hex"));
    expect(curl).toContain('X-FlowPilot-Signature: t=$TS,v1=$SIG');
  });

  it("in Python, signs the timestamp, a dot and the body, and never shows a secret it was not given", () => {
    const { python } = signingRecipe(url, secret);
    expect(python).toContain('hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256)');
    expect(python).toContain(`SECRET = "${secret}"`);
    expect(python).toContain('f"t={ts},v1={sig}"');
    const hidden = signingRecipe(url, null);
    expect(hidden.python).toContain("<your signing secret>");
    expect(hidden.curl).not.toContain(secret);
  });
});

describe("fire times", () => {
  it("read in the schedule's own zone, with its offset", () => {
    expect(formatFire({ at: "2026-03-30T02:30:00+02:00", utc: "2026-03-30T00:30:00+00:00", offset: "UTC+02:00",
      dst_change: null, skipped_wall_time: false })).toBe("Mon 30 Mar 2026, 02:30 (UTC+02:00)");
  });
});
