// test_studio_controls.mjs — the controls drive the show, and two studios on
// one show stay in step: moving the `gain` slider (from the keyboard) changes
// the frame file's pixels; the other page's slider follows; brightness set in
// the second page shows in the first and on the LEDs; both previews draw the
// frame file's colours.
import { run, check, openStudio, frameAfter, canvasAt, rgbOf, waitFor } from "./harness.mjs";

const PATTERN = `# a static colour whose level is a param
param gain = 1.0 in 0..1   # how bright
param tint = rgb(1, 0.5, 0.25) color
out tint * gain
`;

const sliderOf = (param) => `fieldset[data-param="${param}"] input[type="range"]`;

await run(async ({ start, browser }) => {
  const show = await start(PATTERN, { layout: "strip:30" });
  const chromium = await browser();
  const a = await openStudio(chromium, show.url);
  const b = await openStudio(chromium, show.url);
  const before = await frameAfter(show, 0);
  check(rgbOf(before, 5)[0] === 255, `the LEDs start at full gain (${rgbOf(before, 5)})`);

  // Page A: gain slider down with the keyboard (Home: its minimum, 0).
  await a.page.focus(sliderOf("gain"));
  await a.page.keyboard.press("Home");
  const dark = await waitFor(() => {
    const f = show.frames.read();
    return f && f.rgb.every((c) => c === 0) ? f : null;
  }, "the frame file to go black once gain is 0");
  check(true, `moving the gain slider to 0 blacks out the LEDs (frame ${dark.frame})`);
  const bGain = await waitFor(() => b.page.$eval(sliderOf("gain"), (e) => (Number(e.value) === 0 ? e.value : null)), "page B's gain slider to follow");
  check(Number(bGain) === 0, "page B's gain slider followed page A's");

  // Page B: half gain with its slider (fill sets it and fires input), then brightness 0.5.
  await b.page.fill(sliderOf("gain"), "1");
  await waitFor(() => a.page.$eval(sliderOf("gain"), (e) => Number(e.value) === 1), "page A's gain slider to follow page B's");
  await b.page.fill("#brightness", "0.5");
  await waitFor(() => a.page.$eval("#brightness", (e) => Number(e.value) === 0.5), "page A's brightness to follow page B's");
  const dim = await waitFor(() => {
    const f = show.frames.read();
    return f && f.rgb[0] > 100 && f.rgb[0] < 160 ? f : null;
  }, "the LEDs to show gain 1 at brightness 0.5");
  check(true, `brightness 0.5 from page B is on the LEDs (${rgbOf(dim, 0)})`);

  // Both previews draw what the frame file holds.
  for (const [name, page] of [["A", a.page], ["B", b.page]]) {
    await waitFor(async () => (await canvasAt(page, [0])).drawn >= dim.frame, `preview ${name} to draw frame ${dim.frame}`);
    const now = show.frames.read();
    const { colours } = await canvasAt(page, [0, 29]);
    check(
      colours.every((c) => JSON.stringify(c) === JSON.stringify(rgbOf(now, 0))),
      `preview ${name} shows the frame file's colour ${rgbOf(now, 0)}: ${JSON.stringify(colours)}`,
    );
  }

  // A colour param gets a colour picker; setting it reaches the LEDs.
  const picker = await a.page.$eval(`fieldset[data-param="tint"] input`, (e) => e.type);
  check(picker === "color", `a vec3 declared \`color\` gets a colour picker (${picker})`);
  await a.page.fill(`fieldset[data-param="tint"] input[type="color"]`, "#00ff00");
  const green = await waitFor(() => {
    const f = show.frames.read();
    return f && f.rgb[0] === 0 && f.rgb[1] > 100 && f.rgb[2] === 0 ? f : null;
  }, "the LEDs to turn green from the colour picker");
  check(true, `the colour picker's green is on the LEDs (${rgbOf(green, 0)})`);
  await waitFor(() => b.page.$eval(`fieldset[data-param="tint"] input`, (e) => e.value === "#00ff00"), "page B's colour picker to follow");

  check(a.problems.length === 0 && b.problems.length === 0, `no console errors (${[...a.problems, ...b.problems].join("; ")})`);
});
