// `npm run bench:designer` (make bench-designer): the designer and the monitor at 100 to 10,000 steps in
// Debian's headless chromium (1280x800), on workflows made through the API without positions: a layered
// DAG 20 wide (~2 edges per step) and a chain. Figures, not assertions: printed as tables (and one JSON
// line, "DESIGNER-BENCH {...}"), saved to $ARTIFACTS/designer-bench.json (test-artifacts/ by default). A case that times out or throws
// is reported as such in its row; the script carries on.
//
//   designer: open -> drawn (longest main-thread task), pan+zoom fps (tasks > 50 ms), select -> form,
//             Auto-layout (longest task, and how long until the nodes stop moving)
//   monitor:  a finished 500-step run: open -> drawn, pan+zoom fps, select -> step panel
//   live:     a 500-step run executed by the server's worker, watched from its start (one of log steps,
//             one of steps sleeping BENCH_LIVE_SLEEP s, 0.2, that outlasts the page's opening): the lag between
//             the API's done count (sampled every 500 ms) and the header's ("n / 500 done", every 100 ms)
//
// Environment: BENCH_SIZES (default 100,500,1000,2000,10000), BENCH_SHAPES (dag,chain), BENCH_ONLY
// (designer,monitor,live), BENCH_LIVE_STEPS (500), BENCH_LIVE_SLEEP (0.2), BENCH_CASE_TIMEOUT_MS (180000), CHROMIUM, ARTIFACTS;
// BASE_URL with FP_USERNAME, FP_PASSWORD and FP_TOKEN to use a running server instead of starting `make run`.
import { writeFileSync } from "node:fs";
import path from "node:path";

import { apiClient, createWorkflow, ROOT, runProgress, startServer, waitForRun } from "./graphs.mjs";

// Screenshots and figures go where the browser tests' go (test-artifacts/, ignored by git) unless told.
process.env.ARTIFACTS ??= path.join(ROOT, "test-artifacts");
const { ARTIFACTS, launch, login } = await import("./browser.mjs");

const SIZES = (process.env.BENCH_SIZES ?? "100,500,1000,2000,10000").split(",").map(Number);
const SHAPES = (process.env.BENCH_SHAPES ?? "dag,chain").split(",");
const ONLY = new Set((process.env.BENCH_ONLY ?? "designer,monitor,live").split(","));
const LIVE_STEPS = Number(process.env.BENCH_LIVE_STEPS ?? 500);
/** The slow live run's steps sleep this long (s): a run that outlasts the page's opening. */
const LIVE_SLEEP = Number(process.env.BENCH_LIVE_SLEEP ?? 0.2);
const CASE_TIMEOUT = Number(process.env.BENCH_CASE_TIMEOUT_MS ?? 180_000);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message) => console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);

/** Long main-thread tasks (PerformanceObserver "longtask"), kept in the page from its first script on. */
function watchLongTasks() {
  window.__longTasks = [];
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__longTasks.push({ start: entry.startTime, duration: entry.duration });
    }).observe({ type: "longtask", buffered: true });
  } catch { /* no longtask timing */ }
}

const pageNow = (page) => page.evaluate(() => performance.now());
async function longTasksSince(page, since) {
  const tasks = await page.evaluate((from) => window.__longTasks.filter((t) => t.start + t.duration >= from), since);
  return { longest_ms: Math.round(Math.max(0, ...tasks.map((t) => t.duration))), over_50: tasks.length,
           over_100: tasks.filter((t) => t.duration > 100).length };
}

async function withTimeout(promise, ms, what) {
  let timer;
  try {
    return await Promise.race([promise, new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timeout: ${what} after ${Math.round(ms / 1000)} s`)), ms);
    })]);
  } finally {
    clearTimeout(timer);
  }
}

/** Frames per second and long tasks while `action` runs. */
async function framesDuring(page, action) {
  const since = await pageNow(page);
  await page.evaluate(() => {
    window.__frames = 0;
    window.__recording = true;
    const tick = () => {
      window.__frames += 1;
      if (window.__recording) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
  const started = Date.now();
  await action();
  const elapsed = Date.now() - started;
  const frames = await page.evaluate(() => {
    window.__recording = false;
    return window.__frames;
  });
  return { fps: Math.round((frames * 1000) / elapsed), ...(await longTasksSince(page, since)) };
}

async function panAndZoom(page, pane) {
  const box = await page.locator(pane).first().boundingBox();
  const centre = { x: box.x + box.width / 2, y: box.y + box.height / 2 };
  return framesDuring(page, async () => {
    await page.mouse.move(centre.x, centre.y);
    await page.mouse.down();
    for (let i = 1; i <= 30; i += 1) await page.mouse.move(centre.x - (300 * i) / 30, centre.y - (100 * i) / 30);
    await page.mouse.up();
    for (let i = 0; i < 10; i += 1) {
      await page.mouse.move(centre.x, centre.y);
      await page.mouse.wheel(0, i < 5 ? -240 : 240);
      await page.waitForTimeout(30);
    }
  });
}

/** The centre of a drawn node inside the viewport of `container` (a node React Flow has measured). */
async function visibleNode(page, container) {
  return page.evaluate((selector) => {
    const frame = document.querySelector(selector).getBoundingClientRect();
    for (const node of document.querySelectorAll(`${selector} .react-flow__node`)) {
      const box = node.getBoundingClientRect();
      const x = box.x + box.width / 2;
      const y = box.y + box.height / 2;
      if (getComputedStyle(node).visibility !== "hidden" && box.width > 2 && x > frame.left + 20 && x < frame.right - 200
          && y > frame.top + 20 && y < frame.bottom - 60) return { x, y, id: node.dataset.id };
    }
    return null;
  }, container);
}

/** Waits until the first nodes' transforms stay the same for `quiet` ms: the layout has landed. */
async function settle(page, quiet = 1500, timeout = CASE_TIMEOUT) {
  const deadline = Date.now() + timeout;
  let last = "";
  let since = Date.now();
  while (Date.now() < deadline) {
    const now = await page.evaluate(() => [...document.querySelectorAll(".react-flow__node")].slice(0, 30)
      .map((n) => n.style.transform).join("|") + document.querySelectorAll(".react-flow__node").length);
    if (now !== last) {
      last = now;
      since = Date.now();
    } else if (Date.now() - since >= quiet) return Date.now() - quiet;
    await sleep(100);
  }
  throw new Error("timeout: the nodes kept moving");
}

function failure(error) {
  const message = String(error?.message ?? error).split("\n")[0];
  return message.startsWith("timeout") ? message : `error: ${message.slice(0, 120)}`;
}

async function newPage(server) {
  const session = await launch({ baseURL: server.base });
  await session.context.addInitScript(watchLongTasks);
  await login(session.page, server.username, server.password);
  return session;
}

async function benchDesigner(server, workflowId, expectNodes) {
  const row = {};
  const { browser, page, problems } = await newPage(server);
  try {
    const step = async (name, fn) => {
      try {
        row[name] = await withTimeout(fn(), CASE_TIMEOUT, name);
      } catch (error) {
        row[name] = { error: failure(error) };
        throw error;
      }
    };
    await step("open", async () => {
      const started = Date.now();
      await page.goto(`/workflows/${workflowId}`);
      await page.waitForFunction(() => {
        if (document.body.innerText.includes("Unexpected Application Error")) throw new Error(document.body.innerText.replace(/\s+/g, " ").slice(0, 200));
        return document.querySelector('.fp-canvas[data-ready="true"]')
          && [...document.querySelectorAll(".react-flow__node")].some((n) => getComputedStyle(n).visibility !== "hidden");
      }, null, { timeout: CASE_TIMEOUT, polling: 50 });
      const drawn = Date.now() - started;
      await settle(page, 1000);
      const count = await page.evaluate(() => window.__flowpilotDesigner?.nodeCount ?? null);
      if (count !== null && count !== expectNodes) throw new Error(`${count} nodes, not ${expectNodes}`);
      return { drawn_ms: drawn, ...(await longTasksSince(page, 0)) };
    });
    await step("pan_zoom", () => panAndZoom(page, ".fp-canvas .react-flow__pane"));
    await page.getByRole("button", { name: /fit view/i }).first().click().catch(() => {});
    await sleep(500);
    await step("select", async () => {
      const node = await visibleNode(page, ".fp-canvas");
      if (!node) throw new Error("no node in view to click");
      const since = await pageNow(page);
      const started = Date.now();
      await page.mouse.click(node.x, node.y);
      await page.getByRole("complementary", { name: "Step editor" }).waitFor({ timeout: CASE_TIMEOUT });
      return { ms: Date.now() - started, ...(await longTasksSince(page, since)) };
    });
    await page.keyboard.press("Escape").catch(() => {});
    await step("auto_layout", async () => {
      const since = await pageNow(page);
      const started = Date.now();
      problems.length = 0;
      await page.getByRole("button", { name: "Auto-layout" }).click({ timeout: CASE_TIMEOUT });
      const settled = await settle(page, 1500);
      const errors = problems.filter((p) => /call stack|layout/i.test(p));
      if (errors.length) throw new Error(errors[0]);
      return { settled_ms: settled - started, ...(await longTasksSince(page, since)) };
    });
  } catch {
    /* reported in its cell */
  } finally {
    await browser.close();
  }
  return row;
}

async function benchMonitor(server, executionId, steps) {
  const row = {};
  const { browser, page } = await newPage(server);
  try {
    const step = async (name, fn) => {
      try {
        row[name] = await withTimeout(fn(), CASE_TIMEOUT, name);
      } catch (error) {
        row[name] = { error: failure(error) };
        throw error;
      }
    };
    await step("open", async () => {
      const started = Date.now();
      await page.goto(`/executions/${executionId}`);
      await page.waitForFunction((total) => document.body.innerText.includes(`${total} / ${total} done`)
        && [...document.querySelectorAll(".monitor-graph .react-flow__node")].some((n) => getComputedStyle(n).visibility !== "hidden"),
      steps, { timeout: CASE_TIMEOUT, polling: 50 });
      const drawn = Date.now() - started;
      return { drawn_ms: drawn, ...(await longTasksSince(page, 0)) };
    });
    await sleep(1000);
    await step("pan_zoom", () => panAndZoom(page, ".monitor-graph .react-flow__pane"));
    await page.getByRole("button", { name: /fit view/i }).first().click().catch(() => {});
    await sleep(500);
    await step("select", async () => {
      const node = await visibleNode(page, ".monitor-graph");
      if (!node) throw new Error("no node in view to click");
      const since = await pageNow(page);
      const started = Date.now();
      await page.mouse.click(node.x, node.y);
      await page.getByTestId("step-panel").waitFor({ timeout: CASE_TIMEOUT });
      return { ms: Date.now() - started, ...(await longTasksSince(page, since)) };
    });
  } catch {
    /* reported in its cell */
  } finally {
    await browser.close();
  }
  return row;
}

/** A run started over the API and watched from the start: the API's done count every 500 ms, the
 * header's every 100 ms (in the page); the lag of an API sample is how long until the screen showed as many. */
async function benchLive(server, api, workflowId, steps) {
  const { browser, page } = await newPage(server);
  try {
    await page.goto("/executions");  // warm: the app's code is loaded before the run starts
    const run = await api.post(`workflows/${workflowId}/run/`, { input_data: {} });
    const started = Date.now();
    await page.goto(`/executions/${run.id}`);
    await page.evaluate(() => {
      window.__screen = [];
      // The header's "Steps" entry, read with textContent (innerText would lay the page out 10 times a second).
      const read = () => {
        const term = [...document.querySelectorAll("dt")].find((dt) => dt.textContent === "Steps");
        const match = term?.nextElementSibling?.textContent?.match(/(\d+) \/ (\d+) done/);
        if (match) window.__screen.push([Date.now(), Number(match[1])]);
        if (!window.__drawnAt && document.querySelector(".monitor-graph .react-flow__node")) window.__drawnAt = Date.now();
      };
      read();
      window.__read = read;
      window.__sampler = setInterval(read, 100);
    });
    const since = await pageNow(page);
    const frames = await page.evaluate(() => {
      window.__frames = 0;
      const tick = () => {
        window.__frames += 1;
        if (!window.__stopFrames) requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
      return 0;
    });
    void frames;
    const apiSamples = [];
    let status = "running";
    const deadline = Date.now() + CASE_TIMEOUT * 3;
    while (!["completed", "failed", "cancelled"].includes(status) && Date.now() < deadline) {
      const at = Date.now();
      const progress = await runProgress(api, run.id);
      apiSamples.push([at, progress.done]);
      status = progress.status;
      await sleep(Math.max(0, 500 - (Date.now() - at)));
    }
    const finished = Date.now();
    // Give the screen 10 s to show the end (more is a lag of more than 10 s).
    await page.waitForFunction((total) => {
      window.__read();
      return window.__screen.at(-1)?.[1] === total;
    }, steps, { timeout: 10_000, polling: 50 }).catch(() => {});
    const end = Date.now();
    const screen = await page.evaluate(() => {
      clearInterval(window.__sampler);
      window.__read();  // what the screen shows now (the last interval may be up to 100 ms old)
      window.__stopFrames = true;
      return { samples: window.__screen, frames: window.__frames, drawnAt: window.__drawnAt ?? null };
    });
    const tasks = await longTasksSince(page, since);
    const firstShown = screen.samples.length ? screen.samples[0][0] : end;
    // The lag of each API sample taken after `from`: how long until the screen showed as many.
    const lagsFrom = (from) => {
      const lags = [];
      for (const [at, done] of apiSamples) {
        if (at < from) continue;
        const seen = screen.samples.find(([t, shown]) => t >= at && shown >= done);
        lags.push((seen ? seen[0] : end) - at);
      }
      return lags.sort((a, b) => a - b);
    };
    let worstGap = 0;
    for (const [at, done] of apiSamples) {
      if (at < firstShown) continue;  // while the page was still loading
      const shownThen = [...screen.samples].reverse().find(([t]) => t <= at);
      worstGap = Math.max(worstGap, done - (shownThen ? shownThen[1] : 0));
    }
    const lags = lagsFrom(firstShown);  // from the header's first count (the page still loading before)
    const drawnLags = screen.drawnAt ? lagsFrom(screen.drawnAt) : [];  // from the graph's first drawing
    const last = screen.samples.at(-1);
    return {
      status, run_ms: finished - started, first_shown_ms: firstShown - started,
      lag_max_ms: lags.length ? lags.at(-1) : null, lag_p50_ms: lags.length ? lags[Math.floor(lags.length / 2)] : null,
      graph_drawn_ms: screen.drawnAt ? screen.drawnAt - started : null,
      lag_after_drawn_max_ms: drawnLags.length ? drawnLags.at(-1) : null,
      lag_after_drawn_p50_ms: drawnLags.length ? drawnLags[Math.floor(drawnLags.length / 2)] : null,
      worst_gap_steps: worstGap, final_api: apiSamples.at(-1)?.[1] ?? null, final_screen: last ? last[1] : null,
      fps: Math.round((screen.frames * 1000) / Math.max(1, end - firstShown)), ...tasks,
      // [ms since the start, done] of each sample, for a closer look (kept in the JSON, not in the table).
      api_samples: apiSamples.map(([t, n]) => [t - started, n]), screen_samples: screen.samples.map(([t, n]) => [t - started, n]),
    };
  } catch (error) {
    return { error: failure(error) };
  } finally {
    await browser.close();
  }
}

const cell = (value, fmt) => (value === undefined ? "—" : value.error ? value.error : fmt(value));
const secs = (ms) => `${(ms / 1000).toFixed(1)} s`;

function tables(results) {
  const lines = [];
  if (results.designer.length) {
    lines.push("", "| workflow | open -> drawn (longest task) | pan+zoom fps (tasks > 50 ms, longest) | select -> form | Auto-layout longest task (settled) |",
               "|---|---|---|---|---|");
    for (const { shape, size, row } of results.designer) {
      lines.push(`| ${shape} ${size.toLocaleString("en")} | ${cell(row.open, (v) => `${secs(v.drawn_ms)} (${secs(v.longest_ms)})`)} `
        + `| ${cell(row.pan_zoom, (v) => `${v.fps} (${v.over_50}, ${v.longest_ms} ms)`)} `
        + `| ${cell(row.select, (v) => `${v.ms} ms`)} `
        + `| ${cell(row.auto_layout, (v) => `${secs(v.longest_ms)} (${secs(v.settled_ms)})`)} |`);
    }
  }
  if (results.monitor) {
    const row = results.monitor;
    lines.push("", "| monitor | open -> drawn (longest task) | pan+zoom fps (tasks > 50 ms, longest) | select -> panel |", "|---|---|---|---|",
      `| finished ${results.monitorSteps}-step run | ${cell(row.open, (v) => `${secs(v.drawn_ms)} (${secs(v.longest_ms)})`)} `
      + `| ${cell(row.pan_zoom, (v) => `${v.fps} (${v.over_50}, ${v.longest_ms} ms)`)} | ${cell(row.select, (v) => `${v.ms} ms`)} |`);
  }
  if (results.live || results.liveSlow) {
    const ms = (value) => (value === null || value === undefined ? "—" : secs(value));
    lines.push("", "| live run | run took | count shown / graph drawn | lag max (p50) | lag after the graph is drawn, max (p50) | worst gap | API / screen at the end | fps | tasks > 50 ms (longest) |",
      "|---|---|---|---|---|---|---|---|---|");
    for (const [label, v] of [[`${results.liveSteps} log steps`, results.live], [`${results.liveSteps} steps sleeping ${results.liveSleep} s`, results.liveSlow]]) {
      if (!v) continue;
      lines.push(v.error ? `| ${label} | ${v.error} | | | | | | | |`
        : `| ${label} | ${secs(v.run_ms)} | ${ms(v.first_shown_ms)} / ${ms(v.graph_drawn_ms)} | ${ms(v.lag_max_ms)} (${ms(v.lag_p50_ms)}) `
          + `| ${ms(v.lag_after_drawn_max_ms)} (${ms(v.lag_after_drawn_p50_ms)}) | ${v.worst_gap_steps} steps | ${v.final_api} / ${v.final_screen} `
          + `| ${v.fps} | ${v.over_50} (${v.longest_ms} ms) |`);
    }
  }
  return lines.join("\n");
}

async function main() {
  const server = await startServer({ log });
  const api = apiClient(server.base, server.token);
  const results = { designer: [], monitor: null, live: null, liveSlow: null, monitorSteps: 500, liveSteps: LIVE_STEPS, liveSleep: LIVE_SLEEP };
  try {
    if (ONLY.has("designer")) {
      for (const size of SIZES) {
        for (const shape of SHAPES) {
          log(`designer: ${shape} ${size}`);
          let row;
          try {
            const id = await createWorkflow(api, shape, size);
            row = await benchDesigner(server, id, size);
          } catch (error) {
            row = { open: { error: failure(error) } };
          }
          results.designer.push({ shape, size, row });
          log(JSON.stringify(row));
        }
      }
    }
    if (ONLY.has("monitor")) {
      log("monitor: a finished 500-step run");
      try {
        const id = await createWorkflow(api, "dag", 500, "monitor");
        const run = await api.post(`workflows/${id}/run/`, { input_data: {} });
        await waitForRun(api, run.id);
        results.monitor = await benchMonitor(server, run.id, 500);
      } catch (error) {
        results.monitor = { open: { error: failure(error) } };
      }
      log(JSON.stringify(results.monitor));
    }
    if (ONLY.has("live")) {
      log(`live: a ${LIVE_STEPS}-step run of log steps`);
      try {
        const id = await createWorkflow(api, "dag", LIVE_STEPS, "live");
        results.live = await benchLive(server, api, id, LIVE_STEPS);
      } catch (error) {
        results.live = { error: failure(error) };
      }
      log(JSON.stringify({ ...results.live, api_samples: undefined, screen_samples: undefined }));
      log(`live: a ${LIVE_STEPS}-step run of steps sleeping ${LIVE_SLEEP} s`);
      try {
        const id = await createWorkflow(api, "dag", LIVE_STEPS, "live slow", LIVE_SLEEP);
        results.liveSlow = await benchLive(server, api, id, LIVE_STEPS);
      } catch (error) {
        results.liveSlow = { error: failure(error) };
      }
      log(JSON.stringify({ ...results.liveSlow, api_samples: undefined, screen_samples: undefined }));
    }
  } finally {
    await server.stop();
  }
  writeFileSync(path.join(ARTIFACTS, "designer-bench.json"), JSON.stringify(results, null, 2));
  const brief = (v) => (v ? { ...v, api_samples: undefined, screen_samples: undefined } : v);
  console.log(`DESIGNER-BENCH ${JSON.stringify({ ...results, live: brief(results.live), liveSlow: brief(results.liveSlow) })}`);
  console.log(tables(results));
}

await main();
