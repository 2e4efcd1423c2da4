/** Level of detail: the designer's step node drawn in full, or zoomed out as a plain box whose
 * invisible anchors stand where the handles are (so edges still end there). */
import { render } from "@testing-library/react";
import { ReactFlowProvider, type NodeProps } from "@xyflow/react";

import type { StepNode as StepNodeType } from "@/lib/graph";
import { LIMITS } from "@/lib/__fixtures__/limits";

import { STEP_TYPES } from "./__fixtures__/step-types";
import { DesignerContext } from "./context";
import { LodContext } from "./lod";
import { StepNode } from "./nodes/StepNode";
import { createDesignerStore } from "./store";

const store = createDesignerStore({ stepTypes: STEP_TYPES, limits: LIMITS });

function draw(zoomedOut: boolean, taskType = "log", config: Record<string, unknown> = { message: "hi" }) {
  const step = { key: "crm", name: "CRM", task_type: taskType, config, depends_on: [], step_order: 0, when: "", position: { x: 0, y: 0 } };
  const props = { id: "crm", data: { step }, selected: false, type: "step" } as unknown as NodeProps<StepNodeType>;
  return render(
    <DesignerContext.Provider value={store}>
      <ReactFlowProvider>
        <LodContext.Provider value={zoomedOut}><StepNode {...props} /></LodContext.Provider>
      </ReactFlowProvider>
    </DesignerContext.Provider>,
  );
}

describe("level of detail of a step node", () => {
  it("draws the full card, handles and labels, at a readable zoom", () => {
    const { container, getByTestId } = draw(false);
    expect(getByTestId("node-crm").dataset.lod).toBeUndefined();
    expect(container.querySelectorAll(".react-flow__handle")).toHaveLength(3);
    expect(container.textContent).toContain("CRM");
  });

  it("draws a plain box zoomed out: no handles, icon or labels; anchors where the handles are", () => {
    const { container, getByTestId } = draw(true);
    const node = getByTestId("node-crm");
    expect(node.dataset.lod).toBe("simple");
    expect(container.querySelectorAll(".react-flow__handle")).toHaveLength(0);
    expect(container.querySelector(".fp-node-icon")).toBeNull();
    expect(node.textContent).toBe("");
    const anchors = [...node.querySelectorAll(".source, .target")].map((a) =>
      [a.classList.contains("source") ? "source" : "target", a.getAttribute("data-handleid"), a.getAttribute("data-handlepos")]);
    expect(anchors).toEqual([["target", null, "left"], ["source", null, "right"], ["source", "failed", "bottom"]]);
  });

  it("keeps a branch's anchor per branch zoomed out", () => {
    const { getByTestId } = draw(true, "conditional", { left: "{{ input.a }}", operator: "equals", right: "1" });
    const ids = [...getByTestId("node-crm").querySelectorAll(".source")].map((a) => a.getAttribute("data-handleid"));
    expect(ids).toEqual(["true", "false", "failed"]);
  });
});
