/** /workflows/:workflowId — the designer: palette, canvas and step editor around one store per
 * workflow; saving, activating, running, versions, shortcuts and the unsaved-changes guards. A workflow
 * defined in code opens read-only (the store's viewing mode): its graph read from the code, runnable. */
import { useQueryClient } from "@tanstack/react-query";
import { ReactFlowProvider, useReactFlow } from "@xyflow/react";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { Link, useBlocker, useNavigate, useParams, useSearchParams } from "react-router";

import { ErrorState, Spinner } from "@/components/ui";
import { useDesignerShortcuts } from "@/hooks/use-designer-shortcuts";
import { useLimits } from "@/hooks/use-limits";
import { usePinnedData } from "@/hooks/use-pinned-data";
import { useServerValidation } from "@/hooks/use-server-validation";
import { useStepTypes } from "@/hooks/use-step-types";
import { useUnsavedChangesPrompt } from "@/hooks/use-unsaved-changes-prompt";
import { useTriggers } from "@/hooks/use-triggers";
import { useWorkflow, useWorkflowMutations, versionsKey, workflowKey } from "@/hooks/use-workflow";
import { api, ApiError } from "@/lib/api";
import { codeToFlow, NODE_HEIGHT, NODE_WIDTH } from "@/lib/graph";
import { layoutInWorker } from "@/lib/layout-client";
import { pinnedOutputKeys } from "@/lib/pins";
import { toast } from "@/lib/toast";
import { DRAFT_TRIGGER, type TriggerKind } from "@/lib/triggers";
import type { Limits, StepDefinition, StepType, Workflow, WorkflowVersion } from "@/lib/types";
import { issueCount, serverIssues, warningCount } from "@/lib/validation";

import { Canvas } from "./Canvas";
import { DesignerContext, PinsContext, useDesigner, useDesignerApi } from "./context";
import { DesignerHeader } from "./DesignerHeader";
import { OVERVIEW_ABOVE } from "./lod";
import { NodeEditor } from "./NodeEditor";
import { Palette } from "./Palette";
import { RunDebugBar } from "./RunDebugBar";
import { RunDialog, type RunPlan } from "./RunDialog";
import { ShortcutsDialog } from "./ShortcutsDialog";
import { createDesignerStore, SYNC_LAYOUT_MAX_STEPS, type DesignerStore } from "./store";
import { TriggerPanel } from "./TriggerPanel";
import { versionSteps } from "./versions";
import { VersionsDialog } from "./VersionsDialog";

export function DesignerPage() {
  const { workflowId = "" } = useParams();
  const workflow = useWorkflow(workflowId);
  const stepTypes = useStepTypes();
  const limits = useLimits();

  if (workflow.isError) {
    const missing = workflow.error instanceof ApiError && workflow.error.status === 404;
    return missing ? (
      <div className="state">
        <strong>This workflow does not exist</strong>
        <span>It may have been deleted, or it belongs to someone else.</span>
        <Link className="btn" to="/workflows">Back to workflows</Link>
      </div>
    ) : <ErrorState error={workflow.error} onRetry={() => workflow.refetch()} />;
  }
  if (stepTypes.isError) return <ErrorState error={stepTypes.error} onRetry={() => stepTypes.refetch()} />;
  if (workflow.isPending || stepTypes.isPending) return <Spinner label="Loading the workflow…" />;
  return <Designer key={workflowId} workflow={workflow.data} stepTypes={stepTypes.data} limits={limits.data} />;
}

function Designer({ workflow, stepTypes, limits }: { workflow: Workflow; stepTypes: StepType[]; limits?: Limits }) {
  const [store] = useState(() => {
    const created = createDesignerStore({ stepTypes, limits });
    created.getState().load(workflow.steps, { name: workflow.name, description: workflow.description });
    if (workflow.kind === "code") {
      created.getState().viewCode(workflow.version, codeToFlow(workflow.code?.steps ?? [], workflow.code?.edges ?? []));
    }
    return created;
  });
  useEffect(() => {
    if (limits) store.getState().setLimits(limits); // they may arrive after the workflow
  }, [limits, store]);
  return (
    <DesignerContext.Provider value={store}>
      <ReactFlowProvider>
        <DesignerFrame workflow={workflow} stepTypes={stepTypes} />
      </ReactFlowProvider>
    </DesignerContext.Provider>
  );
}

type Open = "run" | "versions" | "help" | null;

function DesignerFrame({ workflow, stepTypes }: { workflow: Workflow; stepTypes: StepType[] }) {
  const store = useDesignerApi();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const flow = useReactFlow();
  const { save, activate, run, testRun } = useWorkflowMutations(workflow.id);
  const pauseValidation = useServerValidation(store, workflow.id);
  const pins = usePinnedData(workflow.id, store);
  const pinnedInput = useDesigner((s) => s.pins?.input);
  const allPins = useDesigner((s) => s.pins);
  const [searchParams] = useSearchParams();
  const debugRun = searchParams.get("execution");
  const leaving = useRef(false); // set when the designer itself moves on (a run resumed): no prompt
  const [open, setOpen] = useState<Open>(null);
  const [busy, setBusy] = useState<"save" | "activate" | null>(null);
  const dirty = useDesigner((s) => s.revision !== s.savedRevision);
  const viewing = useDesigner((s) => s.viewing);
  const canUndo = useDesigner((s) => s.past.length > 0 && !s.viewing);
  const canRedo = useDesigner((s) => s.future.length > 0 && !s.viewing);
  const triggerOpen = useDesigner((s) => s.selectedTrigger !== null);
  const triggers = useTriggers(workflow.id);
  useEffect(() => {
    if (triggers.data) store.getState().setTriggers(triggers.data);
  }, [triggers.data, store]);
  const sampleInput = useMemo(() => {
    const sample = workflow.metadata?.sample_input;
    return sample && typeof sample === "object" && !Array.isArray(sample) ? (sample as Record<string, unknown>) : {};
  }, [workflow.metadata]);

  useUnsavedChangesPrompt(dirty);
  const blocker = useBlocker(({ currentLocation, nextLocation }) => {
    const s = store.getState();
    return !leaving.current && s.revision !== s.savedRevision && currentLocation.pathname !== nextLocation.pathname &&
      !window.confirm("You have unsaved changes. Leave without saving them?");
  });
  useEffect(() => {
    if (blocker.state === "blocked") blocker.reset();
  }, [blocker]);

  /** Save; false when blocked by problems or refused by the server (both shown to the user). */
  const doSave = useCallback(async (): Promise<Workflow | null> => {
    const s = store.getState();
    if (s.viewing) {
      toast(`You are viewing version ${s.viewing.version}. Restore it or go back to editing first.`, "error");
      return null;
    }
    const steps = s.steps();
    // The server's check of this very graph found problems: show them rather than send it. Not yet
    // checked: the save itself checks, and its 400 is shown the same way.
    const problems = s.validatedRevision === s.revision ? issueCount(s.issues) + s.generalErrors.length : 0;
    if (problems) {
      s.select([]);
      toast(`Cannot save: fix the ${problems} problem${problems > 1 ? "s" : ""} marked in red first.`, "error");
      return null;
    }
    const revision = s.revision;
    const before = workflow.version;
    setBusy("save");
    try {
      const saved = await save.mutateAsync({ name: s.name.trim(), description: s.description, steps });
      store.getState().markSaved(revision);
      // The save's answer says what a run would fail on although it was saved (a missing credential).
      const warned = serverIssues(saved.warnings ?? {}, steps, "warning");
      const warnings = warningCount(warned.byStep);
      if (warnings) store.getState().setServerErrors(warned.byStep, [], revision);
      queryClient.invalidateQueries({ queryKey: versionsKey(workflow.id) });
      const note = warnings ? ` ${warnings} warning${warnings > 1 ? "s" : ""} shown on the steps.` : "";
      if (saved.version > before) toast(`Saved as version ${saved.version}.${note}`);
      else if (saved.status === "active") toast(`Saved (no change since version ${saved.version}).${note}`);
      else toast(`Saved as a draft. Activate it to publish a version and run it.${note}`);
      return saved;
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        const mapped = serverIssues(error.fields, steps);
        store.getState().setServerErrors(mapped.byStep, mapped.general, revision);
        store.getState().select([]);
      }
      toast(`Not saved: ${error instanceof Error ? error.message : String(error)}`, "error");
      return null;
    } finally {
      setBusy(null);
    }
  }, [store, save, workflow.id, workflow.version, queryClient]);

  const doActivate = useCallback(async (): Promise<boolean> => {
    const s = store.getState();
    if (s.revision !== s.savedRevision && !(await doSave())) return false;
    setBusy("activate");
    try {
      const active = await activate.mutateAsync();
      queryClient.invalidateQueries({ queryKey: versionsKey(workflow.id) });
      toast(`Active: version ${active.version} runs from now on`);
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.status === 400) {
        const mapped = serverIssues(error.fields, store.getState().steps());
        store.getState().setServerErrors(mapped.byStep, mapped.general);
      }
      toast(`Not activated: ${error instanceof Error ? error.message : String(error)}`, "error");
      return false;
    } finally {
      setBusy(null);
    }
  }, [store, doSave, activate, queryClient, workflow.id]);

  const doRun = useCallback(async (input: Record<string, unknown>, plan: RunPlan) => {
    if (plan.save && !(await doSave())) throw new Error("The workflow was not saved; fix what is shown and try again.");
    if (plan.activate && !(await doActivate())) throw new Error("The workflow could not be activated.");
    const execution = await (plan.testRun ? testRun : run).mutateAsync(input);
    setOpen(null);
    toast(plan.testRun ? "Test run with pinned data started" : "Run started");
    navigate(`/executions/${execution.id}`);
  }, [doSave, doActivate, run, testRun, navigate]);

  const addType = useCallback((type: StepType, position?: { x: number; y: number }) => {
    const s = store.getState();
    if (s.viewing) return;
    let at = position;
    let from: string | null = null;
    if (!at) {
      const anchor = s.selected ? s.nodes.find((n) => n.id === s.selected) : undefined;
      if (anchor) {
        at = { x: anchor.position.x + NODE_WIDTH + 90, y: anchor.position.y };
        from = anchor.id;
      } else {
        const rect = document.querySelector(".fp-canvas")?.getBoundingClientRect();
        const center = rect ? flow.screenToFlowPosition({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 }) : { x: 0, y: 0 };
        at = { x: Math.round(center.x - NODE_WIDTH / 2), y: Math.round(center.y - NODE_HEIGHT / 2) };
      }
      while (s.nodes.some((n) => Math.abs(n.position.x - at!.x) < 20 && Math.abs(n.position.y - at!.y) < 20)) {
        at = { x: at.x + 30, y: at.y + 30 };
      }
    }
    const key = s.addStep(type, at);
    if (!position) {
      // Bring a step added by a click into view when it landed outside.
      const rect = document.querySelector(".fp-canvas")?.getBoundingClientRect();
      const { zoom } = flow.getViewport();
      if (rect) {
        const topLeft = flow.screenToFlowPosition({ x: rect.left, y: rect.top });
        const bottomRight = flow.screenToFlowPosition({ x: rect.right, y: rect.bottom });
        const outside = at.x < topLeft.x || at.y < topLeft.y || at.x + NODE_WIDTH > bottomRight.x || at.y + NODE_HEIGHT > bottomRight.y;
        if (outside) flow.setCenter(at.x + NODE_WIDTH / 2, at.y + NODE_HEIGHT / 2, { zoom, duration: 200 });
      }
    }
    if (from) {
      const upstream = s.nodes.find((n) => n.id === from)!;
      const branches = s.stepTypes[upstream.data.step.task_type]?.branches;
      store.getState().connect({ source: from, target: key, sourceHandle: branches?.[0] ?? null });
    }
  }, [store, flow]);

  const addTrigger = useCallback((kind: TriggerKind, position?: { x: number; y: number }) => {
    if (store.getState().viewing) return;
    store.getState().addTriggerDraft(kind, position);
    if (position) return;
    // Added by a click: it stands left of the steps; bring it into view when it landed outside.
    const at = store.getState().triggerNodes.find((n) => n.id === DRAFT_TRIGGER)?.position;
    const rect = document.querySelector(".fp-canvas")?.getBoundingClientRect();
    if (!at || !rect) return;
    const topLeft = flow.screenToFlowPosition({ x: rect.left, y: rect.top });
    const bottomRight = flow.screenToFlowPosition({ x: rect.right, y: rect.bottom });
    if (at.x < topLeft.x || at.y < topLeft.y || at.x + NODE_WIDTH > bottomRight.x || at.y + NODE_HEIGHT > bottomRight.y) {
      flow.setCenter(at.x + NODE_WIDTH / 2, at.y + NODE_HEIGHT / 2, { zoom: flow.getViewport().zoom, duration: 200 });
    }
  }, [store, flow]);

  const keepSample = useCallback(async (input: Record<string, unknown>) => {
    const current = queryClient.getQueryData<Workflow>(workflowKey(workflow.id)) ?? workflow;
    const saved = await api.patch<Workflow>(`workflows/${workflow.id}/`, { metadata: { ...(current.metadata ?? {}), sample_input: input } });
    queryClient.setQueryData(workflowKey(workflow.id), saved);
  }, [queryClient, workflow]);

  const layoutAndFit = useCallback(() => {
    const s = store.getState();
    if (!s.nodes.length || s.autoLayoutPending) return;
    // A big graph jumps to its bounds (the store's: React Flow may not have every node mounted), with
    // no animation: zooming out through every level of detail would mount and unmount its nodes.
    const fit = () => requestAnimationFrame(() => {
      const nodes = store.getState().nodes;
      if (nodes.length <= OVERVIEW_ABOVE) {
        void flow.fitView({ padding: 0.2, maxZoom: 1.2, duration: 200 });
        return;
      }
      const xs = nodes.map((n) => n.position.x);
      const ys = nodes.map((n) => n.position.y);
      const [left, top] = [Math.min(...xs), Math.min(...ys)];
      void flow.fitBounds({ x: left, y: top, width: Math.max(...xs) - left + NODE_WIDTH, height: Math.max(...ys) - top + NODE_HEIGHT },
        { padding: 0.2 });
    });
    if (s.nodes.length <= SYNC_LAYOUT_MAX_STEPS) { // a few ms: in place
      s.autoLayout();
      fit();
      return;
    }
    // Off the main thread: the canvas stays usable; an answer for a graph changed meanwhile is dropped.
    const ticket = s.layoutTicket();
    s.setAutoLayoutPending(ticket);
    layoutInWorker(s.nodes, s.edges).then((positions) => {
      if (store.getState().autoLayoutPending !== ticket) return;
      // Fit the new places first: a big graph turns into its overview (no nodes mounted), so moving
      // a thousand steps moves no mounted node; then apply them in the next frame.
      const placed = Object.values(positions);
      const [left, top] = [Math.min(...placed.map((p) => p.x)), Math.min(...placed.map((p) => p.y))];
      const right = Math.max(...placed.map((p) => p.x)) + NODE_WIDTH;
      const bottom = Math.max(...placed.map((p) => p.y)) + NODE_HEIGHT;
      void flow.fitBounds({ x: left, y: top, width: right - left, height: bottom - top }, { padding: 0.2 });
      requestAnimationFrame(() => {
        if (store.getState().autoLayoutPending !== ticket) return;
        store.getState().setAutoLayoutPending(null);
        if (!store.getState().applyLayout(positions, ticket, "auto")) {
          toast("The graph changed while it was being laid out: nothing was moved. Auto-layout again.", "error");
        }
      });
    }, (error: unknown) => {
      if (store.getState().autoLayoutPending === ticket) store.getState().setAutoLayoutPending(null);
      toast(`Auto-layout failed: ${error instanceof Error ? error.message : String(error)}`, "error");
    });
  }, [store, flow]);
  const autoLayoutRunning = useDesigner((s) => s.autoLayoutPending !== null);
  usePlacement(store, workflow, save.mutateAsync, () => {
    queryClient.invalidateQueries({ queryKey: versionsKey(workflow.id) });
  });

  const viewVersion = useCallback((version: WorkflowVersion) => {
    const current = new Map(store.getState().nodes.map((n) => [n.id, n.position]));
    store.getState().viewVersion(version.number, versionSteps(version, current));
    setOpen(null);
    requestAnimationFrame(() => flow.fitView({ padding: 0.2, maxZoom: 1.2 }));
  }, [store, flow]);

  const restoreVersion = useCallback((version: WorkflowVersion) => {
    const s = store.getState();
    const current = new Map((s.stash ?? s).nodes.map((n) => [n.id, n.position]));
    s.restoreVersion(versionSteps(version, current));
    setOpen(null);
    toast(`Version ${version.number} restored into the editor. Save to keep it.`);
  }, [store]);

  useDesignerShortcuts({
    save: () => {
      const s = store.getState();
      if (s.revision === s.savedRevision) toast("Nothing to save");
      else void doSave();
    },
    undo: () => store.getState().undo(),
    redo: () => store.getState().redo(),
    copy: () => {
      const n = store.getState().copySelected();
      if (n) toast(`Copied ${n} step${n > 1 ? "s" : ""}`);
    },
    paste: () => store.getState().paste(),
    remove: () => store.getState().deleteSelected(),
    selectAll: () => store.getState().select(store.getState().nodes.map((n) => n.id)),
    help: () => setOpen("help"),
  }, open === null);

  const toolbar = (
    <div className="fp-toolbar">
      <button type="button" className="btn btn-sm" onClick={() => store.getState().undo()} disabled={!canUndo} title="Undo (Ctrl+Z)" aria-label="Undo">↶</button>
      <button type="button" className="btn btn-sm" onClick={() => store.getState().redo()} disabled={!canRedo} title="Redo (Ctrl+Shift+Z)" aria-label="Redo">↷</button>
      <button type="button" className="btn btn-sm" onClick={layoutAndFit} disabled={autoLayoutRunning}
              aria-busy={autoLayoutRunning || undefined}>{autoLayoutRunning ? "Laying out…" : "Auto-layout"}</button>
      <button type="button" className="btn btn-sm" onClick={() => setOpen("help")} title="Keyboard shortcuts" aria-label="Keyboard shortcuts">?</button>
    </div>
  );

  // The Run dialog starts from the last input run here (it keeps that), else the pinned input, else the sample.
  const runInput = pinnedInput && Object.keys(pinnedInput).length ? pinnedInput : sampleInput;
  // The steps a test run answers from their pins (the dialog's option shows only when there are some).
  const pinnedSteps = open === "run" ? pinnedOutputKeys(allPins, store.getState().nodes.map((n) => n.id)) : [];

  return (
    <PinsContext.Provider value={pins.save}>
    <div className="fp-designer">
      <DesignerHeader workflow={workflow} busy={busy} onSave={() => void doSave()} onActivate={() => void doActivate()}
                      onRun={() => setOpen("run")} onVersions={() => setOpen("versions")} onDeleting={pauseValidation} />
      {debugRun && (
        <RunDebugBar executionId={debugRun} workflow={workflow} pinsLoaded={pins.loaded} onViewVersion={viewVersion}
                     onResumed={(resumed) => {
                       leaving.current = true;
                       navigate(`/executions/${resumed.id}`);
                     }} />
      )}
      {viewing?.code && (
        <div className="fp-viewing" role="status">
          <span>
            Defined in code: edit <code className="fp-code-class">{workflow.code?.workflow_class ?? workflow.name}</code> in Python.
            This graph is read from the class; runs work as for any workflow.
          </span>
        </div>
      )}
      {viewing && !viewing.code && (
        <div className="fp-viewing" role="status">
          <span>Viewing version {viewing.version}, read-only.</span>
          <button type="button" className="btn btn-sm" onClick={() => {
            const s = store.getState();
            const version = queryClient.getQueryData<WorkflowVersion[]>(versionsKey(workflow.id))?.find((v) => v.number === viewing.version);
            if (version) restoreVersion(version);
            else s.exitView();
          }}>Restore this version</button>
          <button type="button" className="btn btn-sm btn-primary" onClick={() => store.getState().exitView()}>Back to editing</button>
        </div>
      )}
      <div className="fp-designer-body">
        <Palette stepTypes={stepTypes} disabled={viewing !== null} onAdd={addType}
                 onAddTrigger={workflow.kind === "code" ? undefined : addTrigger} />
        <Canvas onDropType={addType} onDropTrigger={addTrigger} toolbar={toolbar} />
        <aside className="fp-editor" aria-label={triggerOpen ? "Trigger editor" : "Step editor"}>
          {triggerOpen ? <TriggerPanel workflowId={workflow.id} onUseSample={keepSample} />
            : <NodeEditor sampleInput={sampleInput} />}
        </aside>
      </div>
      {open === "run" && (
        <RunDialog workflowId={workflow.id} initialInput={runInput} dirty={dirty} active={workflow.status === "active"}
                   pinnedSteps={pinnedSteps} onRun={doRun}
                   onClose={() => setOpen(null)} />
      )}
      {open === "versions" && (
        <VersionsDialog workflowId={workflow.id} current={workflow.version} onView={viewVersion} onRestore={restoreVersion}
                        onClose={() => setOpen(null)} />
      )}
      {open === "help" && <ShortcutsDialog onClose={() => setOpen(null)} />}
    </div>
    </PinsContext.Provider>
  );
}

type SaveSteps = (body: { name: string; description: string; steps: StepDefinition[] }) => Promise<Workflow>;

/** The first placement of a big workflow without positions: laid out in the worker (again while the
 * graph changes under it: a stale answer is dropped), then its positions saved once through the save
 * path, quietly, when nothing else was changed meanwhile, so the monitor and the next visit never lay
 * it out again. A failed save leaves it laid out on screen (the next visit lays it out again). */
function usePlacement(store: DesignerStore, workflow: Workflow, save: SaveSteps, saved: () => void) {
  const placing = useDesigner((s) => s.placing !== null);
  const latest = useRef({ workflow, save, saved });
  latest.current = { workflow, save, saved };
  useEffect(() => {
    if (!placing) return;
    let cancelled = false;
    const attempt = () => {
      const s = store.getState();
      const ticket = s.layoutTicket();
      layoutInWorker(s.nodes, s.edges).then((positions) => {
        if (cancelled || !store.getState().placing) return;
        if (!store.getState().applyLayout(positions, ticket, "place")) {
          attempt(); // the graph changed meanwhile: lay out what is there now
          return;
        }
        const now = store.getState();
        const { workflow: current, save: doSave, saved: done } = latest.current;
        if (now.viewing || current.kind === "code" || now.revision !== now.savedRevision) return;
        doSave({ name: now.name.trim(), description: now.description, steps: now.steps() }).then(() => {
          done();
          toast(`Laid out ${now.nodes.length} steps; their positions are saved.`);
        }, () => {});
      }, (error: unknown) => {
        if (!cancelled) toast(`Laying out failed: ${error instanceof Error ? error.message : String(error)}`, "error");
      });
    };
    attempt();
    return () => {
      cancelled = true;
    };
  }, [placing, store]);
}
