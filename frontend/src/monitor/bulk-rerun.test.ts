import { canRerun, commonStepKeys, rerunFilters, rerunSummary } from "./bulk-rerun";
import { NO_FILTERS } from "./list-filters";

describe("bulk rerun, pure", () => {
  it("reads the server's allowed_actions to say a run can be rerun", () => {
    expect(canRerun({ allowed_actions: ["retry", "rerun", "replay"] })).toBe(true);
    expect(canRerun({ allowed_actions: ["cancel"] })).toBe(false);
  });

  it("offers the steps every selected version has, in the first one's order", () => {
    expect(commonStepKeys([["a", "b", "c"], ["c", "b", "x"]])).toEqual(["b", "c"]);
    expect(commonStepKeys([["a"], ["b"]])).toEqual([]); // two workflows with nothing in common
    expect(commonStepKeys([])).toEqual([]);
  });

  it("maps the list's workflow and one finished status onto the API's filters, and says why not otherwise", () => {
    expect(rerunFilters({ ...NO_FILTERS, workflow: "w1" })).toEqual({ body: { workflow_id: "w1" } });
    expect(rerunFilters({ ...NO_FILTERS, workflow: "w1", status: ["failed"] }))
      .toEqual({ body: { workflow_id: "w1", status: "failed" } });
    expect(rerunFilters(NO_FILTERS)).toEqual({ reason: expect.stringMatching(/one workflow/) });
    expect(rerunFilters({ ...NO_FILTERS, workflow: "w1", status: ["running"] })).toHaveProperty("reason");
    expect(rerunFilters({ ...NO_FILTERS, workflow: "w1", status: ["failed", "completed"] })).toHaveProperty("reason");
    expect(rerunFilters({ ...NO_FILTERS, workflow: "w1", trigger: "webhook" })).toHaveProperty("reason");
    expect(rerunFilters({ ...NO_FILTERS, workflow: "w1", searchName: "phone", searchValue: "+91" })).toHaveProperty("reason");
  });

  it("summarises what was rerun and refused", () => {
    expect(rerunSummary(1, {})).toBe("Rerun 1 execution.");
    expect(rerunSummary(2, { x: "not a step of v1" })).toBe("Rerun 2 executions; 1 refused: not a step of v1");
  });
});
