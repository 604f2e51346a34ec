// main.js — wires the studio's panels to the show: the layout and the frames
// stream to the preview, the events stream to the controls and the editor.
// Everything the page shows comes from the show's events, so two studios on
// one show stay in step.

import { request, subscribeEvents, keepOpen, decodeFrame, fragmentOption } from "./api.js";
import { Preview } from "./preview.js";
import { Editor } from "./editor.js";
import { Controls } from "./controls.js";
import { ShowPanel } from "./show.js";

const $ = (id) => document.getElementById(id);

function setStatus(text, isError = false) {
  const status = $("status");
  status.textContent = text;
  status.classList.toggle("error", isError);
}

function renderDiagnostics(diagnostics) {
  const list = $("diagnostics");
  list.replaceChildren(
    ...diagnostics.map((d) => {
      const item = document.createElement("li");
      item.className = d.severity;
      item.textContent = `${d.line}:${d.column} ${d.severity}: ${d.message}${d.help ? ` (help: ${d.help})` : ""}`;
      return item;
    }),
  );
}

const preview = new Preview($("preview"));
const controls = new Controls($("params"), (m) => setStatus(m, true));
const editor = new Editor($("editor"), { onStatus: setStatus, onDiagnostics: renderDiagnostics });
const show = new ShowPanel({ onError: (m) => setStatus(m, true), onExample: (n, s) => editor.loadExample(n, s) });

async function loadLayout() {
  try {
    const layout = await request("GET", "api/layout");
    preview.setLayout(layout);
    $("layout-name").textContent = `${layout.layout}, ${layout.leds} LEDs`;
  } catch (e) {
    setStatus(`layout: ${e.message}`, true);
  }
}

// Frames: drawn at the next animation frame; the newest wins.
let layoutWanted = false;
const rate = $("preview-rate");
const askedRate = fragmentOption("fps");
if ([...rate.options].some((o) => o.value === askedRate)) rate.value = askedRate;
const frames = keepOpen("api/frames", () => ({ fps: rate.value }), {
  binary: true,
  onMessage(buffer) {
    const frame = decodeFrame(buffer);
    if (!frame) return;
    if (preview.layout && frame.leds !== preview.layout.leds && !layoutWanted) {
      layoutWanted = true; // the show restarted on another layout
      loadLayout().finally(() => (layoutWanted = false));
    }
    preview.setFrame(frame);
  },
});
rate.addEventListener("change", () => frames.restart());

let draws = 0;
preview.onDraw = () => draws++;
setInterval(() => {
  $("stat-preview").textContent = draws;
  draws = 0;
}, 1000);

subscribeEvents(
  {
    state({ state }) {
      show.state(state);
      editor.load();
      controls.build(state.params);
    },
    params: (e) => controls.changed(e.name, e.value),
    pattern(e) {
      $("pattern-name").textContent = e.pattern;
      controls.build(e.params);
    },
    playlist: (e) => ($("playlist").value = e.index),
    diagnostics: (e) => editor.diagnosticsArrived(e),
    brightness: (e) => show.setBrightness(e.brightness),
    blackout: (e) => ($("blackout").checked = e.blackout),
    freeze: (e) => ($("freeze").checked = e.freeze),
    crossfade: (e) => ($("crossfade").value = e.crossfade),
    source: (e) => editor.sourceChanged(e),
    stats: (e) => show.stats(e),
  },
  (status) => {
    $("connection").textContent = status === "open" ? "connected" : "reconnecting…";
    $("connection").classList.toggle("error", status !== "open");
  },
);

// Shortcuts anywhere on the page (the editor binds its own Mod-S too).
document.addEventListener("keydown", (e) => {
  if ((e.ctrlKey || e.metaKey) && e.key === "s" && !e.defaultPrevented) {
    e.preventDefault();
    editor.save();
  }
});

loadLayout();
editor.load();
show.loadExamples();

// For the browser tests and the console: the panels, read-only use.
window.studio = { preview, editor, controls, show };
