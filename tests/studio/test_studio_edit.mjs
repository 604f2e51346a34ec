// test_studio_edit.mjs — typing in the editor: an error is shown inline at
// its line and column (a lint mark over the bad name, the message in the
// list) while the show keeps the running pattern and the preview keeps
// drawing; fixing it swaps the pattern, on the LEDs and in the preview;
// Ctrl-S writes the text to the show's file; a studio opened after a save
// with errors edits the file, not the running text.
import { readFileSync } from "node:fs";
import { run, check, openStudio, frameAfter, canvasAt, rgbOf, waitFor } from "./harness.mjs";

const RED = `# solid red
param gain = 1.0 in 0..1
out rgb(1, 0, 0) * gain
`;
const BLUE = `# solid blue
param gain = 1.0 in 0..1
out rgb(0, 0, 1) * gain
`;

await run(async ({ start, browser }) => {
  const show = await start(RED, { layout: "strip:40" });
  const chromium = await browser();
  const { page, problems } = await openStudio(chromium, show.url);
  await waitFor(() => page.evaluate(() => window.studio.editor.text().includes("solid red")), "the editor to load the running pattern");

  // Type a mistake at the end of line 3: `out rgb(1, 0, 0) * gain + oops`.
  await page.click(".cm-content");
  await page.keyboard.press("Control+End");
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("End");
  await page.keyboard.type(" + oops");
  await waitFor(() => page.evaluate(() => window.studio.editor.settled()), "the compile of the typed text to come back");
  const mark = await waitFor(
    () =>
      page.evaluate(() => {
        const m = document.querySelector(".cm-lintRange-error");
        if (!m) return null;
        const line = m.closest(".cm-line");
        const lines = [...document.querySelectorAll(".cm-content .cm-line")];
        return { text: m.textContent, line: lines.indexOf(line) + 1, list: document.getElementById("diagnostics").textContent };
      }),
    "the error's inline mark",
  );
  check(mark.text === "oops" && mark.line === 3, `the error is marked on line 3 over \`${mark.text}\` (line ${mark.line})`);
  check(/^3:27 error: .*oops/.test(mark.list), `the diagnostics list says where and what: ${mark.list}`);

  // The show kept the red pattern, and the preview keeps drawing it.
  const seen = await canvasAt(page, [0]);
  const later = await frameAfter(show, show.frames.newestNumber());
  check(JSON.stringify(rgbOf(later, 0)) === "[255,0,0]", `the LEDs stay red while the text has errors (${rgbOf(later, 0)})`);
  await waitFor(async () => (await canvasAt(page, [0])).drawn > Math.max(seen.drawn, later.frame), "the preview to draw newer frames");
  check(JSON.stringify((await canvasAt(page, [0])).colours[0]) === "[255,0,0]", "the preview still shows red");

  // Fix it with another pattern: the LEDs turn blue, and so does the preview.
  await page.keyboard.press("Control+A");
  await page.keyboard.insertText(BLUE);
  const blue = await waitFor(() => {
    const f = show.frames.read();
    return f && f.rgb[2] === 255 && f.rgb[0] === 0 ? f : null;
  }, "the LEDs to turn blue once the fixed text compiles");
  check(true, `the fixed pattern runs (frame ${blue.frame})`);
  await waitFor(async () => (await canvasAt(page, [0])).drawn >= blue.frame, "the preview to draw a blue frame");
  const now = await canvasAt(page, [0, 39]);
  check(now.colours.every((c) => JSON.stringify(c) === "[0,0,255]"), `the preview shows blue (${JSON.stringify(now.colours)})`);
  await waitFor(() => page.$$eval(".cm-lintRange-error", (m) => m.length === 0), "the error mark to go");

  check(readFileSync(show.pattern, "utf8") === RED, "typing alone leaves the file on disk as it was");
  await page.keyboard.press("Control+S");
  await waitFor(() => readFileSync(show.pattern, "utf8") === BLUE, "Ctrl-S to write the editor's text to the file");
  const said = await waitFor(() => page.$eval("#status", (e) => /^saved \d+ bytes/.test(e.textContent) && e.textContent), "the status to say saved");
  check(true, `Ctrl-S saved the text to the show's file (${said})`);

  // Save a text with an error: the file takes it, the show keeps blue. A studio
  // opened now edits the file as it is on disk (with its error marked), not the
  // running pattern's text.
  await page.keyboard.press("Control+End");
  await page.keyboard.press("ArrowUp");
  await page.keyboard.press("End");
  await page.keyboard.type(" + oops");
  await page.keyboard.press("Control+S");
  await waitFor(() => readFileSync(show.pattern, "utf8").includes("oops"), "Ctrl-S to write the text with its error");
  const second = await openStudio(chromium, show.url);
  const reopened = await waitFor(
    () =>
      second.page.evaluate(() => {
        const m = document.querySelector(".cm-lintRange-error");
        return m && window.studio.editor.settled() ? { text: window.studio.editor.text(), mark: m.textContent } : null;
      }),
    "a new studio to load the saved file and mark its error",
  );
  check(reopened.text === readFileSync(show.pattern, "utf8") && reopened.mark === "oops",
        `a studio opened after a save with errors shows the file and marks \`${reopened.mark}\``);
  const still = await frameAfter(show, show.frames.newestNumber());
  check(JSON.stringify(rgbOf(still, 0)) === "[0,0,255]", `the show keeps the blue pattern (${rgbOf(still, 0)})`);
  // Its errors came with GET /api/source: it sent nothing to run, so not even a 422.
  check(second.problems.length === 0, `no console errors in the second studio (${second.problems.join("; ")})`);
  check(problems.filter((p) => !/422/.test(p)).length === 0, `no console errors beside the 422 replies (${problems.join("; ")})`);
});
