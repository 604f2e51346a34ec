// harness.mjs — what every browser test needs: a `sky run --control` show in
// its own mkdtemp directory (port 0, its own frame file), headless Chromium
// (Debian's /usr/bin/chromium, driven by playwright-core from
// studio/node_modules), and waits on progress with a generous safety net.
//
// Usage: node tests/studio/test_X.mjs /path/to/sky
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { FrameFile } from "./frame_file.mjs";

// Not a deadline: a net under a wait that should end far sooner, so a broken
// build fails instead of hanging; busy machines only make waits longer.
export const SAFETY_NET_MS = 240_000;

const here = new URL(".", import.meta.url).pathname;
const { chromium } = await import(join(here, "../../studio/node_modules/playwright-core/index.mjs")).catch(() => {
  console.error("playwright-core is missing: run `npm ci --prefix studio`");
  process.exit(1);
});

export function check(ok, what) {
  if (!ok) throw new Error(`FAILED: ${what}`);
  console.log(`ok - ${what}`);
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn (sync or async) until it returns a truthy value, which it returns.
export async function waitFor(fn, what) {
  const start = Date.now();
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() - start > SAFETY_NET_MS) throw new Error(`FAILED: waited ${SAFETY_NET_MS / 1000} s for ${what}`);
    await sleep(25);
  }
}

// Starts `sky run FILE --control 127.0.0.1:0` on `source`; resolves once the
// API listens and the first frame is in the frame file.
export async function startShow(sky, source, { layout = "grid:24x16", fps = 30, args = [] } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "sky-studio-"));
  const pattern = join(dir, "pattern.sky");
  writeFileSync(pattern, source);
  const framePath = join(dir, "frame");
  const child = spawn(
    resolve(sky), // sky runs in the temporary directory: a relative path would miss
    ["run", pattern, "--layout", layout, "--frame", framePath, "--fps", String(fps), "--control", "127.0.0.1:0", ...args],
    { cwd: dir, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  let exited = null;
  child.stderr.on("data", (d) => (stderr += d));
  child.on("exit", (code, signal) => (exited = signal || code));
  child.on("error", (e) => {
    stderr += `cannot start ${sky}: ${e.message}\n`;
    exited = "not started";
  });
  let url, frames;
  try {
    url = await waitFor(() => {
      if (exited !== null) throw new Error(`sky run exited (${exited}) before its control API was up:\n${stderr}`);
      return /control API on (http:\/\/\S+)/.exec(stderr)?.[1];
    }, "the control API's address on sky run's stderr");
    frames = await waitFor(() => {
      if (!existsSync(framePath)) return null;
      const f = new FrameFile(framePath);
      if (f.newestNumber() > 0) return f;
      f.close();
      return null;
    }, "the first frame in the frame file");
  } catch (e) {
    // The caller never gets a show to stop: stop sky run here, or this process
    // (its stderr pipe open) would never exit.
    if (exited === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${e.message}\n--- sky run's stderr:\n${stderr}`);
  }
  return {
    dir,
    url,
    pattern,
    frames,
    stderr: () => stderr,
    async stop() {
      frames.close();
      if (exited === null) {
        child.kill("SIGINT");
        await waitFor(() => exited !== null, "sky run to stop after SIGINT");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The newest frame whose number is past `after`, read from the frame file.
export async function frameAfter(show, after) {
  return waitFor(() => {
    const f = show.frames.read();
    return f && f.frame > after ? f : null;
  }, `a frame after ${after} in the frame file`);
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu"],
  });
}

// Opens the studio; every console error, page error and failed request is
// collected in `problems` for the test to check. `beforeLoad(page)` runs
// before the page loads (to route its WebSockets, say); the other options go
// to newPage.
export async function openStudio(browser, url, { beforeLoad, ...options } = {}) {
  const page = await browser.newPage(options);
  await beforeLoad?.(page);
  const problems = [];
  page.on("console", (m) => m.type() === "error" && problems.push(`console: ${m.text()}`));
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText}`));
  page.on("response", (r) => r.status() >= 400 && problems.push(`HTTP ${r.status()}: ${r.url()}`));
  await page.goto(url);
  // Ready: the layout is in, and a frame from the show has been drawn.
  await page.waitForFunction(() => window.studio?.preview.drawnFrame > 0, null, { timeout: SAFETY_NET_MS });
  return { page, problems };
}

// The canvas colour at LED i, and the frame number the preview last drew.
export async function canvasAt(page, leds) {
  return page.evaluate((indices) => {
    const { preview } = window.studio;
    const ctx = preview.canvas.getContext("2d");
    return {
      drawn: preview.drawnFrame,
      colours: indices.map((i) => {
        const at = preview.ledToCanvas(i);
        return at ? Array.from(ctx.getImageData(at[0], at[1], 1, 1).data.slice(0, 3)) : null;
      }),
    };
  }, leds);
}

export const rgbOf = (frame, i) => Array.from(frame.rgb.subarray(3 * i, 3 * i + 3));

// Runs a test body with a show and a browser, and always cleans both up.
export async function run(body) {
  const sky = process.argv[2];
  if (!sky) {
    console.error("usage: node TEST.mjs /path/to/sky");
    process.exit(2);
  }
  let show = null;
  let browser = null;
  try {
    await body({
      sky,
      start: async (...a) => (show = await startShow(sky, ...a)),
      browser: async () => (browser = await launchBrowser()),
    });
    console.log("1 passed, 0 failed");
  } catch (e) {
    console.error(e.stack || e.message);
    if (show) console.error(`--- sky run's stderr:\n${show.stderr()}`);
    console.log("0 passed, 1 failed");
    process.exitCode = 1;
  } finally {
    await browser?.close().catch(() => {});
    await show?.stop().catch((e) => console.error(e.message));
  }
}
