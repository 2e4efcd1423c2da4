// A 500-step workflow in the designer: time to first render and frame times while panning and
// zooming, in real headless chromium. Figures, not assertions on time: printed as one JSON line
// ("UI-BENCH {...}") and saved to $ARTIFACTS/ui-benchmark.json. Environment: BASE_URL,
// FP_USERNAME, FP_PASSWORD, WORKFLOW_ID (the 500-step workflow), CHROMIUM, ARTIFACTS.
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { test } from "node:test";

import { ARTIFACTS, launch, login, screenshot } from "./browser.mjs";

/** Frame intervals (ms) while `action` runs, from requestAnimationFrame in the page. */
async function frameTimes(page, action) {
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (now) => {
      window.__frames.push(now - last);
      last = now;
      if (window.__recording) requestAnimationFrame(tick);
    };
    window.__recording = true;
    requestAnimationFrame(tick);
  });
  const started = Date.now();
  await action();
  const elapsed = Date.now() - started;
  const frames = await page.evaluate(() => {
    window.__recording = false;
    return window.__frames.slice(1);
  });
  const sorted = [...frames].sort((a, b) => a - b);
  const pick = (q) => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
  return { elapsed_ms: elapsed, frames: frames.length, p50_frame_ms: pick(0.5), p95_frame_ms: pick(0.95),
           max_frame_ms: Math.round(sorted.at(-1) ?? 0) };
}

async function drag(page, from, to, steps) {
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  for (let i = 1; i <= steps; i += 1) {
    await page.mouse.move(from.x + ((to.x - from.x) * i) / steps, from.y + ((to.y - from.y) * i) / steps);
  }
  await page.mouse.up();
}

test("a 500-step workflow: first render, pan and zoom", async () => {
  const { browser, page } = await launch();
  try {
    await login(page);
    const started = Date.now();
    await page.goto(`/workflows/${process.env.WORKFLOW_ID}`);
    await page.locator('.fp-canvas[data-ready="true"]').waitFor({ timeout: 60_000 });
    const firstRender = Date.now() - started;
    const designer = await page.evaluate(() => window.__flowpilotDesigner);
    assert.equal(designer.nodeCount, 500);
    const drawn = await page.locator(".react-flow__node").count();

    const box = await page.locator(".react-flow__pane").boundingBox();
    const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
    const pan = await frameTimes(page, () => drag(page, centre, { x: centre.x - 400, y: centre.y - 150 }, 30));
    const zoom = await frameTimes(page, async () => {
      for (let i = 0; i < 10; i += 1) {
        await page.mouse.move(centre.x, centre.y);
        await page.mouse.wheel(0, i < 5 ? -240 : 240);
        await page.waitForTimeout(30);
      }
    });
    await page.getByRole("button", { name: /fit view/i }).click().catch(() => {});
    const fitted = await frameTimes(page, () => drag(page, centre, { x: centre.x + 300, y: centre.y }, 30));
    await screenshot(page, "designer-500");

    const figures = { nodes: designer.nodeCount, nodes_in_dom: drawn, first_render_ms: firstRender, pan,
                      zoom, pan_zoomed_out: fitted };
    writeFileSync(path.join(ARTIFACTS, "ui-benchmark.json"), JSON.stringify(figures, null, 2));
    console.log(`UI-BENCH ${JSON.stringify(figures)}`);
  } finally {
    await browser.close();
  }
});
