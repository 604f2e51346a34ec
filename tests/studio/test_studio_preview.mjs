// test_studio_preview.mjs — the studio loads with no console errors, and its
// preview shows the show's colours at the right LEDs: a static gradient
// (red from x, green from y) makes every LED's colour unique and constant, so
// the canvas pixel at an LED must equal that LED's bytes in the frame file
// exactly, and the gradient at the LED's position within the GPU's 2/255.
// Then the same on a phone-sized screen, and zoom from the keyboard.
import { run, check, openStudio, frameAfter, canvasAt, rgbOf, waitFor } from "./harness.mjs";

const GRADIENT = `# a static gradient: colour from position only
param gain = 1.0 in 0..1
out rgb(x * 0.5 + 0.5, y * 0.5 + 0.5, 0.25) * gain
`;

await run(async ({ start, browser }) => {
  const show = await start(GRADIENT, { layout: "grid:24x16" });
  const chromium = await browser();
  const { page, problems } = await openStudio(chromium, show.url, { viewport: { width: 1280, height: 800 } });

  const leds = show.frames.ledCount;
  const probe = [0, 23, 24 * 8 + 11, leds - 24, leds - 1];
  // The preview has drawn a frame rendered after the one read here.
  const frame = await frameAfter(show, 0);
  await waitFor(async () => (await canvasAt(page, [0])).drawn >= frame.frame, "the preview to draw the frame file's frame");
  const { colours } = await canvasAt(page, probe);
  for (const [k, i] of probe.entries()) {
    const x = show.frames.positions[show.frames.dims * i];
    const y = show.frames.positions[show.frames.dims * i + 1];
    const expected = [x * 0.5 + 0.5, y * 0.5 + 0.5, 0.25].map((c) => c * 255);
    const file = rgbOf(frame, i);
    check(
      file.every((c, j) => Math.abs(c - expected[j]) <= 2),
      `frame file LED ${i} at (${x.toFixed(3)}, ${y.toFixed(3)}) is the gradient there: ${file}`,
    );
    check(JSON.stringify(colours[k]) === JSON.stringify(file), `canvas at LED ${i} is ${colours[k]}, the frame file's ${file}`);
  }

  // Geometry: one scale for x and y, y up; checked against the frame file's positions.
  const at = await page.evaluate((n) => Array.from({ length: n }, (_, i) => window.studio.preview.ledToCanvas(i)), leds);
  const pos = (i) => [show.frames.positions[show.frames.dims * i], show.frames.positions[show.frames.dims * i + 1]];
  const [a, b] = [0, leds - 1];
  const sx = (at[b][0] - at[a][0]) / (pos(b)[0] - pos(a)[0]);
  const sy = (at[b][1] - at[a][1]) / (pos(b)[1] - pos(a)[1]);
  check(sx > 0 && sy < 0 && Math.abs(sx + sy) <= 0.02 * sx + 2, `one scale on both axes, y up (${sx.toFixed(2)}, ${sy.toFixed(2)})`);
  const offBy = Math.max(
    ...at.map((p, i) => Math.hypot(p[0] - (at[a][0] + sx * (pos(i)[0] - pos(a)[0])), p[1] - (at[a][1] + sy * (pos(i)[1] - pos(a)[1])))),
  );
  check(offBy <= 1.5, `every LED drawn where its position says (worst ${offBy.toFixed(2)} px off)`);

  // Keyboard: the preview takes focus, `+` zooms in about the centre.
  await page.focus("#preview");
  const gap = () =>
    page.evaluate(() => {
      const p = window.studio.preview;
      return p.ledToCanvas(204)[0] - p.ledToCanvas(203)[0]; // neighbours near the centre
    });
  const before = await gap();
  await page.keyboard.press("+");
  const after = await gap();
  check(after > before * 1.1, `'+' on the focused preview zooms in (neighbours ${before} -> ${after} px apart)`);
  await page.keyboard.press("0");

  // The stats line fills from the show's once-a-second stats event.
  await waitFor(() => page.$eval("#stat-viewers", (e) => /^\d+$/.test(e.textContent)), "the stats event to fill the stats line");

  check(problems.length === 0, `no console errors, page errors or failed requests (${problems.join("; ")})`);

  // A phone: one column, nothing wider than the screen, the preview first and drawing.
  const phone = await openStudio(chromium, show.url, { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const shape = await phone.page.evaluate(() => {
    const box = (id) => document.getElementById(id).getBoundingClientRect();
    return {
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      preview: box("preview"),
      params: box("params"),
      editor: box("editor"),
    };
  });
  check(shape.overflow <= 0, `nothing wider than a 390 px screen (overflow ${shape.overflow} px)`);
  check(shape.preview.width >= 300 && shape.preview.height >= 150, `the preview fills the phone's width (${shape.preview.width}x${shape.preview.height})`);
  check(shape.preview.top < shape.params.top && shape.params.top < shape.editor.top, "on a phone: preview, then params, then the editor");
  check(phone.problems.length === 0, `phone: no console errors (${phone.problems.join("; ")})`);
});
