import { buildOverrides, currentConfig, currentInput, parseObject, stepsToFix } from "./edit-resume";
import { execution, step, task } from "./test-fixtures";

const steps = [step("welcome"), step("crm", ["welcome"], { config: { url: "http://crm/v1", method: "POST" } })];
const failed = () => execution([
  task("welcome"),
  task("crm", { status: "failed", is_latest: false }),
  task("crm", { status: "failed", attempt_number: 2 }),
  task("slack", { status: "cancelled" }),
], { status: "failed", input_data: { email: "typo@x" } });

describe("edit and resume", () => {
  it("fixes the steps whose current attempt failed or was cancelled, once each", () => {
    expect(stepsToFix(failed())).toEqual(["crm", "slack"]);
  });

  it("starts from the values the run uses now: an earlier override's, else the run's and the version's", () => {
    const run = failed();
    expect(currentInput(run)).toEqual({ email: "typo@x" });
    expect(currentConfig(run, "crm", steps[1])).toEqual({ url: "http://crm/v1", method: "POST" });
    const edited = { ...run, overrides: { input: { email: "ada@x" }, steps: { crm: { config: { url: "http://crm/v2" } } } } };
    expect(currentInput(edited)).toEqual({ email: "ada@x" });
    expect(currentConfig(edited, "crm", steps[1])).toEqual({ url: "http://crm/v2" });
  });

  it("sends only what changed", () => {
    const run = failed();
    const same = JSON.stringify({ url: "http://crm/v1", method: "POST" });
    expect(buildOverrides(run, steps, '{"email": "typo@x"}', { crm: same })).toEqual({ overrides: {} });
    expect(buildOverrides(run, steps, '{"email": "ada@x"}', { crm: '{"url": "http://crm/v2"}' })).toEqual({
      overrides: { input: { email: "ada@x" }, steps: { crm: { config: { url: "http://crm/v2" } } } },
    });
  });

  it("names the text that is not a JSON object", () => {
    expect(buildOverrides(failed(), steps, "[1]", {})).toEqual({ error: "Input: must be a JSON object" });
    expect(buildOverrides(failed(), steps, "{}", { crm: "{oops" })).toMatchObject({ error: expect.stringMatching(/^Config of crm: not JSON/) });
    expect(parseObject("null")).toEqual({ error: "must be a JSON object" });
  });
});
