// Issue 19's designer figures for the layout work (docs/adr/0036): not a test, a quick measurement
// run by hand (see the ADR) against a server with workflows made through the API without positions.
// For each WORKFLOWS entry ("label=id,label=id"): open -> drawn time and longest task, pan/zoom fps
// and longest task, select -> form, Auto-layout's longest task; and whether the positions were saved.
// One JSON line per workflow: "LAYOUT-MEASURE {...}".
import { launch, login, screenshot } from "./browser.mjs";

const LONG = `
  window.__long = [];
  new PerformanceObserver((list) => { for (const e of list.getEntries()) window.__long.push([e.startTime, e.duration]); })
    .observe({ type: "longtask", buffered: true });`;

const longest = (page, since) => page.evaluate((t) => Math.round(Math.max(0, ...window.__long.filter(([s]) => s >= t).map(([, d]) => d))), since);
const now = (page) => page.evaluate(() => performance.now());

async function frames(page, action) {
  await page.evaluate(() => {
    window.__frames = [];
    let last = performance.now();
    const tick = (t) => { window.__frames.push(t - last); last = t; if (window.__recording) requestAnimationFrame(tick); };
    window.__recording = true;
    requestAnimationFrame(tick);
  });
  const t0 = await now(page);
  await action();
  const t1 = await now(page);
  const list = await page.evaluate(() => { window.__recording = false; return window.__frames.slice(1); });
  return { fps: Math.round((list.length / (t1 - t0)) * 1000), max_frame_ms: Math.round(Math.max(0, ...list)), longest_task_ms: await longest(page, t0) };
}

async function autoLayout(page, out, label) {
  out.dom_before_layout = `${await page.locator(".react-flow__node").count()} nodes ${await page.locator(".react-flow__edge").count()} edges, lod ${await page.locator(".fp-canvas").getAttribute("data-lod")}`;
  const cdp = process.env.PROFILE ? await page.context().newCDPSession(page) : null;
  if (cdp) { await cdp.send("Profiler.enable"); await cdp.send("Profiler.setSamplingInterval", { interval: 200 }); await cdp.send("Profiler.start"); }
  const tLay = await now(page);
  const t1 = Date.now();
  await page.getByRole("button", { name: "Auto-layout" }).click();
  await page.getByRole("button", { name: "Auto-layout" }).waitFor({ timeout: 180_000 });
  await page.waitForTimeout(500);
  out.auto_layout_ms = Date.now() - t1;
  out.auto_layout_longest_task_ms = await longest(page, tLay);
  if (cdp) {
    const { profile } = await cdp.send("Profiler.stop");
    const self = new Map();
    const byId = new Map(profile.nodes.map((n) => [n.id, n]));
    const dt = profile.timeDeltas;
    profile.samples.forEach((id, i) => {
      const n = byId.get(id);
      const k = `${n.callFrame.functionName || "(anon)"} ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber}`;
      self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0) / 1000);
    });
    out.profile = [...self].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([k, v]) => `${Math.round(v)}ms ${k}`);
  }
  await screenshot(page, `layout-${label}-laid-out`);
}

async function measure(page, label, id) {
  const out = { label };
  const t0 = Date.now();
  await page.goto(`/workflows/${id}`);
  await page.locator('.fp-canvas[data-ready="true"]').waitFor({ timeout: 180_000 });
  out.open_ms = Date.now() - t0;
  out.open_longest_task_ms = await longest(page, 0);
  out.open_tasks = await page.evaluate(() => window.__long.map(([s, d]) => `${Math.round(s)}+${Math.round(d)}`).join(" "));
  out.nav = await page.evaluate(() => { const n = performance.getEntriesByType("navigation")[0]; return `dcl ${Math.round(n.domContentLoadedEventEnd)} load ${Math.round(n.loadEventEnd)} now ${Math.round(performance.now())}`; });
  out.nodes = (await page.evaluate(() => window.__flowpilotDesigner)).nodeCount;
  out.in_dom = await page.locator(".react-flow__node").count();
  out.lod = await page.locator(".fp-canvas").getAttribute("data-lod");
  out.zoom = await page.evaluate(() => {
    const t = document.querySelector(".react-flow__viewport")?.style.transform ?? "";
    return Number(/scale\(([^)]+)\)/.exec(t)?.[1] ?? 0);
  });
  await screenshot(page, `layout-${label}-open`);

  const box = await page.locator(".react-flow__pane").boundingBox();
  const c = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  out.pan_zoom = await frames(page, async () => {
    await page.mouse.move(c.x, c.y);
    await page.mouse.down();
    for (let i = 1; i <= 30; i += 1) await page.mouse.move(c.x - i * 10, c.y - i * 4);
    await page.mouse.up();
    for (let i = 0; i < 10; i += 1) {
      await page.mouse.move(c.x, c.y);
      await page.mouse.wheel(0, i < 5 ? -200 : 200);
      await page.waitForTimeout(40);
    }
  });

  if (process.env.AUTO_FIRST) await autoLayout(page, out, label);
  // Zoom in to a readable zoom, then select a drawn step: time from the pointer down to its form.
  const inside = (b) => b && b.x > box.x + 20 && b.y > box.y + 20 && b.x + b.width < box.x + box.width - 20 && b.y + b.height < box.y + box.height - 20;
  await page.getByRole("button", { name: /fit view/i }).click();
  await page.waitForTimeout(400);
  let anchor = c;
  for (const node of (await page.locator(".react-flow__node-step").all()).slice(0, 200)) {
    const b = await node.boundingBox();
    if (inside(b)) { anchor = { x: b.x + b.width / 2, y: b.y + b.height / 2 }; break; }
  }
  out.zoom_in_to_nodes = await frames(page, async () => {
    for (let i = 0; i < 60 && (await page.locator(".fp-canvas").getAttribute("data-lod")) !== "full"; i += 1) {
      await page.mouse.move(anchor.x, anchor.y);
      await page.mouse.wheel(0, -300);
      await page.waitForTimeout(60);
    }
  });
  await page.waitForTimeout(500);
  let key = null;
  let nb = null;
  for (const node of await page.locator(".react-flow__node-step").all()) {
    const b = await node.boundingBox();
    if (b && b.width > 30 && inside(b)) {
      key = await node.getAttribute("data-id");
      nb = b;
      break;
    }
  }
  await page.evaluate((k) => {
    window.__sel = null;
    window.addEventListener("pointerdown", () => { window.__sel = { down: performance.now() }; }, { capture: true, once: true });
    new MutationObserver((_, obs) => {
      if (document.querySelector(`.fp-editor-body[aria-label="Step ${k}"]`) && window.__sel) {
        window.__sel.form = performance.now();
        obs.disconnect();
      }
    }).observe(document.body, { childList: true, subtree: true });
  }, key);
  const tSel = await now(page);
  await page.mouse.click(nb.x + nb.width / 2, nb.y + nb.height / 2);
  await page.locator(`.fp-editor-body[aria-label="Step ${key}"]`).waitFor({ timeout: 30_000 });
  await page.waitForTimeout(300);
  const sel = await page.evaluate(() => window.__sel);
  out.select_to_form_ms = Math.round(sel.form - sel.down);
  out.select_longest_task_ms = await longest(page, tSel);

  if (!process.env.AUTO_FIRST) await autoLayout(page, out, label);
  return out;
}

const { browser, context, page, problems } = await launch();
try {
  await context.addInitScript(LONG);
  await login(page);
  page.on("dialog", (d) => d.accept().catch(() => {}));
  for (const entry of (process.env.WORKFLOWS ?? "").split(",").filter(Boolean)) {
    const [label, id] = entry.split("=");
    let figures;
    try {
      figures = await measure(page, label, id);
    } catch (error) {
      figures = { label, error: String(error).slice(0, 400) };
    }
    const saved = await page.evaluate(async (wid) => {
      const r = await fetch(`/api/v1/workflows/${wid}/`, { credentials: "include" });
      const w = await r.json();
      return { version: w.version, placed: w.steps.filter((s) => s.position && (s.position.x || s.position.y)).length };
    }, id);
    console.log(`LAYOUT-MEASURE ${JSON.stringify({ ...figures, saved, problems: problems.splice(0).slice(0, 5) })}`);
  }
} finally {
  await browser.close();
}
