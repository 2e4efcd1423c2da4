/** Pure trigger code for the designer: a workflow's triggers (webhook, schedule, event; saved through
 * the triggers API, not in the workflow's definition) as start nodes left of the steps that start a
 * run, the dashed edges from them, one-line summaries, and the webhook signing recipe. */
import type { Edge, Node, XYPosition } from "@xyflow/react";

import { NODE_HEIGHT, NODE_WIDTH, type StepNode } from "./graph";
import type { components } from "./api-schema";

type Schemas = components["schemas"];
export type Trigger = Schemas["Trigger"];
export type TriggerCreated = Schemas["TriggerCreated"];
export type TriggerKind = Trigger["type"];
export type SchedulePreview = Schemas["SchedulePreview"];
export type FireTime = Schemas["FireTime"];
export type WebhookListen = Schemas["WebhookListen"];
export type WebhookCapture = Schemas["WebhookCapture"];
export type WebhookDelivery = Schemas["WebhookDelivery"];

export const TRIGGER_KINDS: TriggerKind[] = ["webhook", "schedule", "event"];
export const TRIGGER_PREFIX = "trigger:";
/** The id of the node of a trigger not yet created (one at a time, its panel open). */
export const DRAFT_TRIGGER = `${TRIGGER_PREFIX}new`;
const GAP_X = 110;
const GAP_Y = 30;

export interface TriggerNodeData extends Record<string, unknown> {
  kind: TriggerKind;
  /** The saved trigger; null for the draft being added. */
  trigger: Trigger | null;
}
export type TriggerNode = Node<TriggerNodeData, "trigger">;

export const isTriggerNodeId = (id: string) => id.startsWith(TRIGGER_PREFIX);
export const triggerNodeId = (trigger: Trigger) => `${TRIGGER_PREFIX}${trigger.id}`;

export const KIND_LABELS: Record<TriggerKind, string> = { webhook: "Webhook", schedule: "Schedule", event: "Event" };

/** The line under a trigger node's name: what starts the run. */
export function triggerSummary(kind: TriggerKind, trigger: Trigger | null): string {
  if (!trigger) return "Not added yet";
  const paused = trigger.enabled ? "" : " · paused";
  if (kind === "webhook") return `POST /hooks/…${paused}`;
  if (kind === "schedule") return `${trigger.cron} · ${trigger.timezone}${paused}`;
  const offset = trigger.offset_minutes;
  const when = offset === 0 ? "" : offset > 0 ? ` +${offset} min` : ` ${offset} min`;
  return `on ${trigger.event_name}${when}${paused}`;
}

/** The steps a run starts at: those that depend on nothing. */
export function rootSteps(nodes: StepNode[], edges: Edge[]): StepNode[] {
  const targets = new Set(edges.map((e) => e.target));
  return nodes.filter((n) => !targets.has(n.id));
}

/** Where the i-th of `count` trigger nodes goes: a column left of the steps that start a run,
 * centred on them (or at the origin on an empty canvas). */
export function triggerPosition(index: number, count: number, steps: StepNode[], edges: Edge[]): XYPosition {
  const roots = rootSteps(steps, edges);
  const anchor = roots.length ? roots : steps;
  const left = anchor.length ? Math.min(...anchor.map((n) => n.position.x)) : 0;
  const middle = anchor.length
    ? (Math.min(...anchor.map((n) => n.position.y)) + Math.max(...anchor.map((n) => n.position.y))) / 2
    : 0;
  const height = count * NODE_HEIGHT + (count - 1) * GAP_Y;
  return { x: left - NODE_WIDTH - GAP_X, y: Math.round(middle - height / 2 + NODE_HEIGHT / 2 + index * (NODE_HEIGHT + GAP_Y)) };
}

/** The trigger nodes for `triggers` (and a draft), keeping what the canvas knows of the ones it
 * already shows (where they were dragged, their measured size, whether selected). */
export function triggerNodes(
  triggers: Trigger[], draft: TriggerKind | null, previous: TriggerNode[], steps: StepNode[], edges: Edge[],
  draftAt?: XYPosition,
): TriggerNode[] {
  const known = new Map(previous.map((n) => [n.id, n]));
  const items: { id: string; kind: TriggerKind; trigger: Trigger | null }[] = triggers.map((t) => ({ id: triggerNodeId(t), kind: t.type, trigger: t }));
  if (draft) items.push({ id: DRAFT_TRIGGER, kind: draft, trigger: null });
  const kept = items.flatMap((item) => known.get(item.id) ?? []);
  return items.map((item, index) => {
    const old = known.get(item.id);
    const data: TriggerNodeData = { kind: item.kind, trigger: item.trigger };
    if (old) return { ...old, data };
    let position = item.id === DRAFT_TRIGGER && draftAt ? draftAt : triggerPosition(index, items.length, steps, edges);
    if (!(item.id === DRAFT_TRIGGER && draftAt)) {
      // A trigger added beside ones already shown goes below them rather than onto one of them.
      const column = kept.filter((n) => Math.abs(n.position.x - position.x) < NODE_WIDTH);
      if (column.some((n) => Math.abs(n.position.y - position.y) < NODE_HEIGHT + GAP_Y)) {
        position = { x: position.x, y: Math.max(...column.map((n) => n.position.y)) + NODE_HEIGHT + GAP_Y };
      }
      kept.push({ id: item.id, type: "trigger", position, data, deletable: false, connectable: false });
    }
    return { id: item.id, type: "trigger", position, data, deletable: false, connectable: false };
  });
}

/** A dashed edge from every trigger to every step that starts a run: what a trigger starts. */
export function triggerEdges(triggers: TriggerNode[], steps: StepNode[], edges: Edge[]): Edge[] {
  const roots = rootSteps(steps, edges);
  return triggers.flatMap((t) => roots.map((step) => ({
    id: `${t.id}->${step.id}`, source: t.id, target: step.id, className: "fp-trigger-edge",
    selectable: false, deletable: false, focusable: false, animated: false,
  })));
}

const EXAMPLE_BODY = '{"hello": "world"}';

/** How to sign a delivery (X-FlowPilot-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">,
 * fresh within 5 minutes, each signature used once), in shell and in Python. */
export function signingRecipe(url: string, secret: string | null): { curl: string; python: string } {
  const key = secret ?? "<your signing secret>";
  const curl = [
    `SECRET='${key}'`,
    `BODY='${EXAMPLE_BODY}'`,
    "TS=$(date +%s)",
    `SIG=$(printf '%s.%s' "$TS" "$BODY" | openssl dgst -sha256 -hmac "$SECRET" -hex | sed 's/^.* //')`,
    `curl -X POST '${url}' \\`,
    "  -H 'Content-Type: application/json' \\",
    '  -H "X-FlowPilot-Signature: t=$TS,v1=$SIG" \\',
    '  --data "$BODY"',
  ].join("\n");
  const python = [
    "import hashlib, hmac, json, time, urllib.request",
    "",
    `SECRET = "${key}"`,
    `body = json.dumps({"hello": "world"}).encode()`,
    "ts = str(int(time.time()))",
    'sig = hmac.new(SECRET.encode(), ts.encode() + b"." + body, hashlib.sha256).hexdigest()',
    `request = urllib.request.Request("${url}", data=body, method="POST", headers={`,
    '    "Content-Type": "application/json", "X-FlowPilot-Signature": f"t={ts},v1={sig}"})',
    "print(urllib.request.urlopen(request).read().decode())",
  ].join("\n");
  return { curl, python };
}

/** A fire time for people: "Mon 30 Mar 2026, 02:30 (UTC+02:00)" in the schedule's own zone. */
export function formatFire(fire: FireTime): string {
  const match = fire.at.match(/^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})/);
  if (!match) return fire.at;
  const [, y, mo, d, h, mi] = match;
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  const weekday = day.toLocaleDateString("en-GB", { weekday: "short", timeZone: "UTC" });
  const month = day.toLocaleDateString("en-GB", { month: "short", timeZone: "UTC" });
  return `${weekday} ${Number(d)} ${month} ${y}, ${h}:${mi} (${fire.offset})`;
}
