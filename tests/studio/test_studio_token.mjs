// test_studio_token.mjs — with --control-token, the studio opened with
// #token=TOKEN works (its requests carry the token, its WebSockets carry it
// as ?token=) and without it gets nothing but the page; an edit of the
// pattern file by another editor reloads the studio's text, and a broken
// file's errors are marked; an edit made while the studio's events stream
// was not yet connected (its `source` event went to nobody) is picked up
// when the stream connects.
import { appendFileSync, writeFileSync } from "node:fs";
import { run, check, openStudio, waitFor } from "./harness.mjs";

const TOKEN = "studio-test-7f3a9c";
const PATTERN = `# steady green
out rgb(0, 1, 0)
`;

await run(async ({ start, browser }) => {
  const show = await start(PATTERN, { layout: "strip:20", args: ["--control-token", TOKEN] });
  const chromium = await browser();
  const { page, problems } = await openStudio(chromium, `${show.url}/#token=${TOKEN}`);
  await waitFor(() => page.evaluate(() => window.studio.editor.text().includes("steady green")), "the editor to load the source with the token");
  check(true, "with #token= the preview draws and the editor loads");
  check(problems.length === 0, `with the token: no console errors (${problems.join("; ")})`);

  appendFileSync(show.pattern, "# edited elsewhere\n");
  await waitFor(() => page.evaluate(() => window.studio.editor.text().includes("# edited elsewhere")), "the editor to reload the file edited on disk");
  check(true, "an edit of the file on disk reloads the editor");

  writeFileSync(show.pattern, "# broken on disk\nout rgb(oops, 0, 0)\n");
  const marked = () =>
    document.querySelector(".cm-lintRange-error")?.textContent === "oops" && window.studio.editor.text().includes("broken on disk");
  await waitFor(() => page.evaluate(marked), "the open page to mark the error of the file saved elsewhere");
  check(true, "a broken file saved elsewhere is reloaded with its error marked");

  const bare = await chromium.newPage();
  await bare.goto(`${show.url}/`);
  const refused = await waitFor(
    () => bare.evaluate(() => /token/.test(document.getElementById("status").textContent) && document.getElementById("status").textContent),
    "the page without the token to say the token is missing",
  );
  check(true, `without the token the page loads but the API refuses it: ${refused}`);
  check((await bare.evaluate(() => window.studio.preview.drawnFrame)) === 0, "without the token no frame is drawn");

  // A studio whose events stream is held back (routed, not yet connected to
  // the show) while the file changes on disk and the show reloads it.
  let release;
  const held = new Promise((r) => (release = r));
  const late = await openStudio(chromium, `${show.url}/#token=${TOKEN}`, {
    beforeLoad: (p) =>
      p.routeWebSocket(/\/api\/events/, async (ws) => {
        await held;
        ws.connectToServer();
      }),
  });
  await waitFor(() => late.page.evaluate(marked), "the held-back studio to load the broken file with its error marked");
  check(true, "a studio opened on a broken file marks its error before its events stream connects");
  const reloads = () => show.stderr().split("reloaded ").length - 1;
  const before = reloads();
  writeFileSync(show.pattern, "# fixed while nobody listened\nout rgb(0, 0, 1)\n");
  await waitFor(() => reloads() > before, "the show to reload the file fixed on disk");
  release();
  await waitFor(
    () => late.page.evaluate(() => window.studio.editor.text().includes("fixed while nobody listened")),
    "the studio to pick up, once its events stream connects, the edit it had no event for",
  );
  check(true, "an edit on disk before the events stream connected reloads the editor when it connects");
  // The broken file's errors came with GET /api/source: it was never sent to run (no 422).
  check(late.problems.length === 0, `the held-back studio: no console errors (${late.problems.join("; ")})`);
  const marksLeft = await late.page.evaluate(() => document.querySelectorAll(".cm-lintRange-error").length);
  check(marksLeft === 0, `the fixed file's text carries no error marks (${marksLeft})`);
});
