// The condition builder, in real headless chromium against `make run`'s server: open a workflow whose
// conditional step holds an expression, switch it to the builder, pick the field (suggested from the
// workflow's sample input), the operator (the server's list) and the value, save; reload and find
// the structured condition in the builder. workflows/tests/test_browser.py checks the saved definition
// over the API and runs it. Environment: BASE_URL, FP_USERNAME, FP_PASSWORD, WORKFLOW_ID, CHROMIUM,
// ARTIFACTS.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { launch, login, screenshot } from "./browser.mjs";

const WORKFLOW_ID = process.env.WORKFLOW_ID;
let session;

before(async () => {
  session = await launch();
});

after(async () => {
  await session?.browser.close();
});

async function openStep(page, key) {
  await page.goto(`/workflows/${WORKFLOW_ID}`);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor();
  await page.getByTestId(`node-${key}`).click();
  return page.getByRole("complementary", { name: "Step editor" });
}

test("build a condition, save it, find it again in the builder", async () => {
  assert.ok(WORKFLOW_ID, "WORKFLOW_ID is set");
  const { page, problems } = session;
  await login(page);
  problems.length = 0; // before signing in, /auth/me/ answers 401, as it should

  let editor = await openStep(page, "check");
  const conditionField = editor.locator('[data-field="config.condition"]');
  // The step holds an expression: the builder is one click away.
  assert.equal(await editor.getByLabel("Condition", { exact: true }).inputValue(), "{{ input.plan == 'free' }}");
  await conditionField.getByRole("button", { name: "Builder" }).click();
  const builder = editor.getByRole("group", { name: "Condition" });
  await builder.waitFor();

  // The operators are the server's (GET /api/v1/step-types/), in its order.
  const served = await page.evaluate(async () => {
    const types = await (await fetch("/api/v1/step-types/")).json();
    return types.find((t) => t.name === "conditional").config_schema.properties.condition.properties.operator.enum;
  });
  const operator = builder.getByLabel("Operator", { exact: true });
  const options = await operator.locator("option").allTextContents();
  assert.deepEqual(options.filter((o) => !o.startsWith("—")), served);

  // The field suggests the sample input's paths (the workflow's metadata.sample_input).
  const field = builder.getByLabel("Field", { exact: true });
  const suggested = await field.evaluate((input) => [...input.list.options].map((o) => o.value));
  assert.ok(suggested.includes("plan") && suggested.includes("customer.tier"), JSON.stringify(suggested));
  await field.fill("plan");

  // exists takes no value: the value input goes; eq brings it back.
  await operator.selectOption("exists");
  assert.equal(await builder.getByLabel("Value", { exact: true }).count(), 0);
  await operator.selectOption("eq");
  await builder.getByLabel("Value", { exact: true }).fill("pro");

  // The server's check of the edited graph (POST /api/v1/workflows/validate/) finds nothing wrong.
  await page.locator('.fp-canvas[data-checked="true"]').waitFor({ timeout: 10_000 });
  assert.notEqual(await page.getByTestId("node-check").getAttribute("data-invalid"), "true");
  await page.getByRole("button", { name: "Save", exact: true }).click();
  await page.getByText(/Saved/).first().waitFor();
  await screenshot(page, "condition-builder");

  // Opened again, the saved structured condition is in the builder.
  editor = await openStep(page, "check");
  const reopened = editor.getByRole("group", { name: "Condition" });
  assert.equal(await reopened.getByLabel("Field", { exact: true }).inputValue(), "plan");
  assert.equal(await reopened.getByLabel("Operator", { exact: true }).inputValue(), "eq");
  assert.equal(await reopened.getByLabel("Value", { exact: true }).inputValue(), "pro");

  assert.deepEqual(problems.filter((p) => !p.includes("WebSocket")), [], "no page errors");
});
