// test_studio_token.mjs — with --control-token, the studio opened with
// #token=TOKEN works (its requests carry the token, its WebSockets carry it
// as ?token=) and without it gets nothing but the page; an edit of the
// pattern file by another editor reloads the studio's text, and a broken
// file's errors are marked.
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
});
