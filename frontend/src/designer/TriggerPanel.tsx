/** The side panel of a trigger node: add, change, pause or delete the trigger through the triggers
 * API. A webhook shows its URL, its secret (revealed or rotated on request), how to sign a delivery,
 * its recent deliveries and "listen for a test delivery"; a schedule its cron in words and its next
 * fire times with DST changes marked (the server's answers); an event its name and offset. */
import { useEffect, useId, useState } from "react";
import { Link } from "react-router";

import { TRIGGER_ICONS } from "@/components/step-icons";
import { StatusBadge, formatTime } from "@/components/ui";
import {
  useSchedulePreview, useTriggerMutations, useWebhookDeliveries, useWebhookListen, type TriggerFields,
} from "@/hooks/use-triggers";
import { ApiError } from "@/lib/api";
import { toast } from "@/lib/toast";
import { formatFire, KIND_LABELS, signingRecipe, type Trigger, type TriggerKind } from "@/lib/triggers";

import { useDesigner, useDesignerApi } from "./context";

interface PanelProps {
  workflowId: string;
  /** Keep a captured delivery's input as the workflow's sample input. */
  onUseSample: (input: Record<string, unknown>) => Promise<void>;
}

export function TriggerPanel({ workflowId, onUseSample }: PanelProps) {
  const node = useDesigner((s) => s.triggerNodes.find((n) => n.id === s.selectedTrigger));
  // Secrets known in this visit (shown once at creation, revealed or rotated), by trigger id.
  const [secrets, setSecrets] = useState<Record<string, string>>({});
  if (!node) return null;
  const remember = (id: string, secret: string) => setSecrets((known) => ({ ...known, [id]: secret }));
  return (
    <TriggerEditor key={node.id} workflowId={workflowId} kind={node.data.kind} trigger={node.data.trigger}
                   secret={node.data.trigger ? secrets[node.data.trigger.id] ?? null : null} onSecret={remember}
                   onUseSample={onUseSample} />
  );
}

const browserZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
const ZONES: string[] = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];

interface Form {
  name: string;
  enabled: boolean;
  require_signature: boolean;
  include_headers: string;
  cron: string;
  timezone: string;
  missed_fires: "skip" | "catch_up";
  catch_up_limit: number;
  event_name: string;
  offset_minutes: number;
}

function formOf(trigger: Trigger | null): Form {
  return {
    name: trigger?.name ?? "",
    enabled: trigger?.enabled ?? true,
    require_signature: trigger?.require_signature ?? true,
    include_headers: Array.isArray(trigger?.include_headers) ? (trigger.include_headers as string[]).join(", ") : "",
    cron: trigger?.cron || "0 9 * * 1-5",
    timezone: trigger?.timezone ?? browserZone(),
    missed_fires: trigger?.missed_fires ?? "skip",
    catch_up_limit: trigger?.catch_up_limit ?? 3,
    event_name: trigger?.event_name ?? "",
    offset_minutes: trigger?.offset_minutes ?? 0,
  };
}

/** The fields a trigger of `kind` takes, from the form. */
export function triggerFields(kind: TriggerKind, form: Form): TriggerFields {
  const common = { name: form.name.trim(), enabled: form.enabled };
  if (kind === "webhook") {
    const headers = form.include_headers.split(",").map((h) => h.trim()).filter(Boolean);
    return { ...common, require_signature: form.require_signature, include_headers: headers };
  }
  if (kind === "schedule") {
    return { ...common, cron: form.cron.trim(), timezone: form.timezone.trim(), missed_fires: form.missed_fires,
      catch_up_limit: form.catch_up_limit };
  }
  return { ...common, event_name: form.event_name.trim(), offset_minutes: form.offset_minutes };
}

function useDebounced<T>(value: T, ms = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), ms);
    return () => clearTimeout(timer);
  }, [value, ms]);
  return settled;
}

async function copy(text: string, what: string) {
  try {
    await navigator.clipboard.writeText(text);
    toast(`${what} copied`);
  } catch {
    toast(`Could not copy the ${what.toLowerCase()}: select it and copy it by hand.`, "error");
  }
}

interface EditorProps extends PanelProps {
  kind: TriggerKind;
  trigger: Trigger | null;
  secret: string | null;
  onSecret: (id: string, secret: string) => void;
}

function TriggerEditor({ workflowId, kind, trigger, secret, onSecret, onUseSample }: EditorProps) {
  const id = useId();
  const store = useDesignerApi();
  const readOnly = useDesigner((s) => s.viewing?.code === true);
  const { create, update, remove } = useTriggerMutations(workflowId);
  const [form, setForm] = useState<Form>(() => formOf(trigger));
  const [errors, setErrors] = useState<Record<string, string[]>>({});
  const [message, setMessage] = useState("");
  const busy = create.isPending || update.isPending || remove.isPending;
  const Icon = TRIGGER_ICONS[kind];
  const set = <K extends keyof Form>(key: K, value: Form[K]) => setForm((f) => ({ ...f, [key]: value }));

  const fail = (error: unknown) => {
    if (error instanceof ApiError) {
      setErrors(Object.fromEntries(Object.entries(error.fields).map(([k, v]) => [k, Array.isArray(v) ? v.map(String) : [String(v)]])));
      setMessage(error.message);
    } else setMessage(String(error));
  };

  const save = async () => {
    setErrors({});
    setMessage("");
    try {
      if (!trigger) {
        const created = await create.mutateAsync({ type: kind, ...triggerFields(kind, form) });
        if (created.secret) onSecret(created.id, created.secret);
        store.getState().endTriggerDraft(created);
        toast(`${KIND_LABELS[kind]} trigger added`);
      } else {
        const saved = await update.mutateAsync({ id: trigger.id, ...triggerFields(kind, form) });
        store.getState().setTriggers(store.getState().triggers.map((t) => (t.id === saved.id ? saved : t)));
        toast("Trigger saved");
      }
    } catch (error) {
      fail(error);
    }
  };

  const toggle = async () => {
    if (!trigger) return set("enabled", !form.enabled);
    try {
      const saved = await update.mutateAsync({ id: trigger.id, enabled: !trigger.enabled });
      set("enabled", saved.enabled);
      store.getState().setTriggers(store.getState().triggers.map((t) => (t.id === saved.id ? saved : t)));
      toast(saved.enabled ? "Trigger enabled" : "Trigger paused");
    } catch (error) {
      fail(error);
    }
  };

  const destroy = async () => {
    if (!trigger) return store.getState().endTriggerDraft();
    if (!window.confirm(`Delete this ${kind} trigger? ${kind === "webhook" ? "Its URL stops working." : ""}`)) return;
    try {
      await remove.mutateAsync(trigger.id);
      store.getState().setTriggers(store.getState().triggers.filter((t) => t.id !== trigger.id));
      toast("Trigger deleted");
    } catch (error) {
      fail(error);
    }
  };

  const fieldError = (key: string) => errors[key]?.map((e, i) => <p key={i} className="field-error" role="alert">{e}</p>);

  return (
    <div className="fp-editor-body fp-trigger-panel" data-testid="trigger-panel" data-kind={kind}>
      <div className="fp-editor-type">
        <strong><Icon size={16} aria-hidden="true" /> {KIND_LABELS[kind]} trigger</strong>
        <span className="muted small">
          {trigger ? (trigger.enabled ? "Enabled: it starts runs of this workflow." : "Paused: it starts nothing.")
            : "Not added yet: fill it in, then Add trigger."} Triggers are saved at once, apart from the workflow’s steps.
        </span>
      </div>
      {message && <p className="form-error" role="alert">{message}</p>}

      <div className="field">
        <label className="field-label" htmlFor={`${id}-name`}>Name</label>
        <input id={`${id}-name`} value={form.name} maxLength={200} disabled={readOnly} placeholder={KIND_LABELS[kind]}
               onChange={(e) => set("name", e.target.value)} />
        {fieldError("name")}
      </div>

      {kind === "webhook" && (
        <>
          <label className="fp-check">
            <input type="checkbox" checked={form.require_signature} disabled={readOnly}
                   onChange={(e) => set("require_signature", e.target.checked)} />
            Require a signature (X-FlowPilot-Signature)
          </label>
          <div className="field">
            <label className="field-label" htmlFor={`${id}-headers`}>Headers copied into the input</label>
            <input id={`${id}-headers`} value={form.include_headers} disabled={readOnly} placeholder="X-Source, User-Agent"
                   onChange={(e) => set("include_headers", e.target.value)} />
            <div className="field-help">Comma-separated; the run sees them as <code>input._webhook.headers</code>.</div>
            {fieldError("include_headers")}
          </div>
        </>
      )}

      {kind === "schedule" && (
        <>
          <div className="field">
            <label className="field-label" htmlFor={`${id}-cron`}>Cron</label>
            <input id={`${id}-cron`} className="mono" value={form.cron} maxLength={200} disabled={readOnly}
                   data-testid="schedule-cron" onChange={(e) => set("cron", e.target.value)} />
            <div className="field-help">minute hour day-of-month month day-of-week</div>
            {fieldError("cron")}
          </div>
          <div className="field">
            <label className="field-label" htmlFor={`${id}-tz`}>Timezone</label>
            <input id={`${id}-tz`} list={`${id}-zones`} value={form.timezone} maxLength={64} disabled={readOnly}
                   data-testid="schedule-timezone" onChange={(e) => set("timezone", e.target.value)} />
            <datalist id={`${id}-zones`}>{ZONES.map((z) => <option key={z} value={z} />)}</datalist>
            {fieldError("timezone")}
          </div>
          <div className="field">
            <label className="field-label" htmlFor={`${id}-missed`}>Missed fires (the scheduler was down)</label>
            <select id={`${id}-missed`} value={form.missed_fires} disabled={readOnly}
                    onChange={(e) => set("missed_fires", e.target.value as Form["missed_fires"])}>
              <option value="skip">Skip them; run once for the latest</option>
              <option value="catch_up">Catch up, one run each, at most…</option>
            </select>
            {form.missed_fires === "catch_up" && (
              <input type="number" min={0} max={100} value={form.catch_up_limit} aria-label="Catch-up limit" disabled={readOnly}
                     onChange={(e) => set("catch_up_limit", Number(e.target.value))} />
            )}
            {fieldError("missed_fires")}{fieldError("catch_up_limit")}
          </div>
          <SchedulePreviewBox cron={form.cron} timezone={form.timezone} />
        </>
      )}

      {kind === "event" && (
        <>
          <div className="field">
            <label className="field-label" htmlFor={`${id}-event`}>Event name</label>
            <input id={`${id}-event`} value={form.event_name} maxLength={200} disabled={readOnly} placeholder="trial_ended"
                   data-testid="event-name" onChange={(e) => set("event_name", e.target.value)} />
            <div className="field-help">Runs start when this event is emitted (POST /api/v1/events/).</div>
            {fieldError("event_name")}
          </div>
          <div className="field">
            <label className="field-label" htmlFor={`${id}-offset`}>Offset (minutes)</label>
            <input id={`${id}-offset`} type="number" value={form.offset_minutes} disabled={readOnly}
                   onChange={(e) => set("offset_minutes", Number(e.target.value))} />
            <div className="field-help">Run this long after the time the event carries (negative: before).</div>
            {fieldError("offset_minutes")}
          </div>
        </>
      )}

      {!readOnly && (
        <div className="fp-trigger-actions">
          <button type="button" className="btn btn-primary btn-sm" disabled={busy} onClick={() => void save()}
                  data-testid="trigger-save">{trigger ? "Save trigger" : "Add trigger"}</button>
          <button type="button" className="btn btn-sm" disabled={busy} onClick={() => void toggle()} data-testid="trigger-toggle">
            {(trigger ? trigger.enabled : form.enabled) ? "Pause" : "Enable"}
          </button>
          <button type="button" className="btn btn-sm btn-danger" disabled={busy} onClick={() => void destroy()}>
            {trigger ? "Delete" : "Cancel"}
          </button>
        </div>
      )}

      {kind === "webhook" && trigger && (
        <WebhookDetails trigger={trigger} secret={secret} onSecret={onSecret} onUseSample={onUseSample} />
      )}
    </div>
  );
}

function SchedulePreviewBox({ cron, timezone }: { cron: string; timezone: string }) {
  const preview = useSchedulePreview(useDebounced(cron), useDebounced(timezone), 5);
  if (!cron.trim()) return null;
  return (
    <div className="fp-schedule-preview" data-testid="schedule-preview" aria-live="polite">
      {preview.isPending && <p className="muted small">Asking the server…</p>}
      {preview.isError && <p className="field-error" role="alert">{preview.error.message}</p>}
      {preview.data && (
        <>
          <p className="fp-cron-words" data-testid="cron-description">{preview.data.description}</p>
          <h4 className="fp-editor-section">Next fire times ({preview.data.timezone})</h4>
          <ol className="fp-fires" data-testid="next-fires" data-zone={preview.data.timezone}>
            {preview.data.next.map((fire) => (
              <li key={fire.utc} className={fire.dst_change ? "fp-fire dst" : "fp-fire"}>
                <span>{formatFire(fire)}</span>
                {fire.dst_change && <span className="fp-dst" title={fire.dst_change}>DST: {fire.dst_change}</span>}
                {fire.skipped_wall_time && <span className="fp-dst">the clock skips this wall time; it fires at the time shown</span>}
              </li>
            ))}
            {preview.data.next.length === 0 && <li className="muted">It never fires.</li>}
          </ol>
        </>
      )}
    </div>
  );
}

function WebhookDetails({ trigger, secret, onSecret, onUseSample }: {
  trigger: Trigger; secret: string | null; onSecret: (id: string, secret: string) => void;
  onUseSample: PanelProps["onUseSample"];
}) {
  const { rotate, reveal } = useTriggerMutations(trigger.workflow);
  const [tab, setTab] = useState<"curl" | "python">("curl");
  const [shown, setShown] = useState(false);
  const url = trigger.url ?? "";
  const recipe = signingRecipe(url, shown ? secret : null);

  const doReveal = async () => {
    if (!secret) {
      try {
        onSecret(trigger.id, (await reveal.mutateAsync(trigger.id)).secret);
      } catch (error) {
        toast(`Could not reveal the secret: ${error instanceof Error ? error.message : error}`, "error");
        return;
      }
    }
    setShown((s) => !s || !secret);
  };
  const doRotate = async () => {
    if (!window.confirm("Rotate the signing secret? Senders using the old one are refused from now on.")) return;
    try {
      const rotated = await rotate.mutateAsync(trigger.id);
      if (rotated.secret) onSecret(trigger.id, rotated.secret);
      setShown(true);
      toast("New secret: update the senders");
    } catch (error) {
      toast(`Not rotated: ${error instanceof Error ? error.message : error}`, "error");
    }
  };

  return (
    <>
      <h4 className="fp-editor-section">URL</h4>
      <div className="fp-copy-row">
        <input readOnly value={url} data-testid="webhook-url" aria-label="Webhook URL" onFocus={(e) => e.target.select()} />
        <button type="button" className="btn btn-sm" onClick={() => void copy(url, "URL")}>Copy</button>
      </div>
      <h4 className="fp-editor-section">Signing secret</h4>
      <div className="fp-copy-row">
        <input readOnly className="mono" value={shown && secret ? secret : "•".repeat(24)} data-testid="webhook-secret"
               aria-label="Signing secret" />
        <button type="button" className="btn btn-sm" onClick={() => void doReveal()} data-testid="reveal-secret">
          {shown && secret ? "Hide" : "Reveal"}
        </button>
        <button type="button" className="btn btn-sm" onClick={() => void doRotate()}>Rotate</button>
      </div>
      <h4 className="fp-editor-section">How to sign a delivery</h4>
      <p className="field-help">
        Header <code>X-FlowPilot-Signature: t=&lt;unix time&gt;,v1=&lt;hex HMAC-SHA256 of “t.body” with the secret&gt;</code>;
        the time within 5 minutes of the server’s, each signature accepted once.
      </p>
      <div className="fp-tabs" role="tablist">
        {(["curl", "python"] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} className={tab === t ? "btn btn-sm active" : "btn btn-sm"}
                  onClick={() => setTab(t)}>{t === "curl" ? "curl" : "Python"}</button>
        ))}
        <button type="button" className="btn btn-sm" onClick={() => void copy(recipe[tab], "Recipe")}>Copy</button>
      </div>
      <pre className="fp-recipe" data-testid="signing-recipe">{recipe[tab]}</pre>
      <ListenBox trigger={trigger} onUseSample={onUseSample} />
      <DeliveriesList trigger={trigger} />
    </>
  );
}

function ListenBox({ trigger, onUseSample }: { trigger: Trigger; onUseSample: PanelProps["onUseSample"] }) {
  const { state, start, stop } = useWebhookListen(trigger.id);
  const listen = state.data;
  const capture = listen?.capture;
  const [using, setUsing] = useState(false);
  return (
    <div className="fp-listen" data-testid="listen-box" data-listening={listen?.listening ? "true" : "false"}>
      <h4 className="fp-editor-section">Test delivery</h4>
      {listen?.listening ? (
        <div className="fp-listen-wait" role="status">
          <span className="fp-pulse" aria-hidden="true" /> Waiting for the next delivery to this URL
          {listen.expires_at ? ` (until ${formatTime(listen.expires_at)})` : ""}…
          <button type="button" className="btn btn-sm" onClick={() => stop.mutate()}>Stop</button>
        </div>
      ) : (
        <button type="button" className="btn btn-sm" data-testid="listen-button" disabled={start.isPending}
                onClick={() => start.mutate(undefined, { onError: (e) => toast(`Cannot listen: ${e.message}`, "error") })}>
          {capture ? "Listen again" : "Listen for a test delivery"}
        </button>
      )}
      <p className="field-help">Captures the next request to this URL. It is answered and runs as any delivery does.</p>
      {capture && (
        <div className="fp-capture" data-testid="captured-delivery" data-status={capture.status_code}>
          <p>
            <strong>{capture.status_code < 400 ? "Received" : `Refused (${capture.status_code})`}</strong>{" "}
            <span className="muted small">{formatTime(capture.received_at)}</span>
            {capture.message && <span className="field-error"> {capture.message}</span>}
          </p>
          {capture.input ? (
            <>
              <pre className="fp-recipe" data-testid="captured-input">{JSON.stringify(capture.input, null, 2)}</pre>
              <button type="button" className="btn btn-sm btn-primary" data-testid="use-sample-input" disabled={using}
                      onClick={async () => {
                        setUsing(true);
                        try {
                          await onUseSample(capture.input as Record<string, unknown>);
                          toast("Kept as the sample input: Run and Test this step start from it");
                        } catch (error) {
                          toast(`Not kept: ${error instanceof Error ? error.message : error}`, "error");
                        } finally {
                          setUsing(false);
                        }
                      }}>Use as sample input</button>
            </>
          ) : (
            <pre className="fp-recipe">{capture.body_text}</pre>
          )}
        </div>
      )}
    </div>
  );
}

function DeliveriesList({ trigger }: { trigger: Trigger }) {
  const deliveries = useWebhookDeliveries(trigger.id);
  return (
    <div className="fp-deliveries">
      <h4 className="fp-editor-section">Recent deliveries</h4>
      {deliveries.isError && <p className="field-error">{deliveries.error.message}</p>}
      {deliveries.data?.length === 0 && <p className="muted small">None yet.</p>}
      <ul className="fp-delivery-list" data-testid="deliveries">
        {deliveries.data?.map((d, i) => (
          <li key={`${d.at}-${i}`} data-accepted={d.accepted ? "true" : "false"}>
            <span className="muted small">{formatTime(d.at)}</span>
            <span className={d.accepted ? "badge badge-code" : "badge fp-refused"}>{d.status_code}</span>
            {d.execution_id ? (
              <Link to={`/executions/${d.execution_id}`}>run {d.execution_status && <StatusBadge status={d.execution_status} />}</Link>
            ) : <span className="small" title={d.message}>{d.message}</span>}
          </li>
        ))}
      </ul>
    </div>
  );
}
