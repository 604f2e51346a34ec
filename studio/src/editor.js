// editor.js — the pattern editor: CodeMirror 6 with `.sky` highlighting.
// Each edit compiles (debounced) through POST /api/pattern; errors show inline
// at their line:column with message and help, and the show keeps the running
// pattern meanwhile. Ctrl-S saves to the show's file (PUT /api/source); a
// `source` event (the file changed on disk) reloads the text, and so does each
// reconnect of the events stream when the file changed while it was closed.

import { EditorState } from "@codemirror/state";
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap } from "@codemirror/commands";
import { syntaxHighlighting, bracketMatching } from "@codemirror/language";
import { setDiagnostics, lintGutter } from "@codemirror/lint";
import { request, ApiError } from "./api.js";
import { skyLanguage, skyHighlight } from "./sky-language.js";

const COMPILE_DELAY_MS = 350; // after the last keystroke: a word typed compiles once

const theme = EditorView.theme(
  {
    "&": { height: "100%", backgroundColor: "#15181d", color: "#d8dee9" },
    ".cm-content": { fontFamily: "ui-monospace, monospace", caretColor: "#fff" },
    ".cm-gutters": { backgroundColor: "#15181d", color: "#6b7280", border: "none" },
    ".cm-activeLine": { backgroundColor: "#1d2229" },
    "&.cm-focused .cm-selectionBackground, .cm-selectionBackground": { backgroundColor: "#334155 !important" },
  },
  { dark: true },
);

export class Editor {
  constructor(parent, { onStatus, onDiagnostics }) {
    this.onStatus = onStatus;
    this.onDiagnostics = onDiagnostics;
    this.name = "studio.sky";
    this.path = null;
    this.timer = null;
    this.inFlight = false;
    this.pending = false;
    this.lastSent = null; // the text of the newest compile sent
    this.fromServer = false; // the next change came from the show, not the user
    this.loaded = false; // a GET /api/source has answered
    this.disk = null; // the show's file as last seen (loaded, saved or reloaded); null: no file
    this.fetches = 0; // GET /api/source requests sent: only the newest applies
    this.view = new EditorView({
      parent,
      state: EditorState.create({
        doc: "",
        extensions: [
          lineNumbers(),
          history(),
          drawSelection(),
          highlightActiveLine(),
          bracketMatching(),
          skyLanguage,
          syntaxHighlighting(skyHighlight),
          lintGutter(),
          theme,
          keymap.of([
            { key: "Mod-s", preventDefault: true, run: () => (this.save(), true) },
            { key: "Mod-Enter", preventDefault: true, run: () => (this.compileNow(), true) },
            ...defaultKeymap,
            ...historyKeymap,
          ]),
          EditorView.contentAttributes.of({ "aria-label": "Pattern source (.sky)" }),
          EditorView.updateListener.of((update) => {
            if (!update.docChanged) return;
            if (this.fromServer) {
              this.fromServer = false;
              return;
            }
            this.scheduleCompile();
          }),
        ],
      }),
    });
  }

  // True when the text on screen has been compiled and its answer shown.
  settled() {
    return !this.inFlight && !this.pending && this.timer === null && this.lastSent === this.text();
  }

  text() {
    return this.view.state.doc.toString();
  }

  // Replaces the text without compiling it: the show has compiled it already
  // (it runs it, or its errors came with it).
  setText(text, { compile = false } = {}) {
    if (text === this.text()) return;
    this.fromServer = !compile;
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
    if (!compile) this.lastSent = text;
  }

  // The show's file (or running pattern), from GET /api/source: when the page
  // opens, and on each (re)connect of the events stream, since a change on disk
  // made while no stream was open sent its `source` event to nobody. Unsaved
  // edits stay unless the file changed since the editor last saw it. Only the
  // newest request applies: an older answer may predate a change on disk.
  async load() {
    const seq = ++this.fetches;
    let src;
    try {
      src = await request("GET", "api/source");
    } catch (e) {
      if (!this.loaded) this.onStatus(`could not load the source: ${e.message}`);
      return;
    }
    if (seq !== this.fetches) return;
    const file = typeof src.file === "string" ? src.file : null;
    if (this.loaded && (file === null || file === this.disk)) return;
    // Edit the file: after a save with errors it differs from the running pattern
    // (the show keeps running that). Its errors come with it, compiled by the show
    // and not run: while the show is still loading a new file, sending it to run
    // would load it twice.
    const text = file ?? src.source ?? "";
    if (this.loaded) {
      this.sourceChanged({ path: src.path, pattern: src.pattern, source: text });
    } else {
      this.loaded = true;
      this.disk = file;
      this.name = src.pattern || this.name;
      this.path = src.path;
      this.onStatus(src.path ? `editing ${src.path}` : `editing ${this.name} (no file: Ctrl-S cannot save)`);
      this.setText(text);
    }
    if (file !== null) this.showDiagnostics(text, src.file_diagnostics || []);
  }

  // An example from the gallery: becomes the running pattern once it compiles.
  loadExample(name, source) {
    this.name = name;
    this.setText(source, { compile: true });
    this.compileNow();
  }

  scheduleCompile() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.compileNow(), COMPILE_DELAY_MS);
    this.lastSent = null;
  }

  async compileNow() {
    clearTimeout(this.timer);
    this.timer = null;
    if (this.inFlight) {
      this.pending = true; // one compile at a time; the newest text goes next
      return;
    }
    this.inFlight = true;
    const text = this.text();
    this.lastSent = text;
    this.onStatus("compiling…");
    try {
      const reply = await request("POST", "api/pattern", { source: text, name: this.name });
      this.showDiagnostics(text, reply.diagnostics || []);
      this.onStatus(`running ${reply.pattern}`);
    } catch (e) {
      if (e instanceof ApiError && e.status === 422) {
        this.showDiagnostics(text, e.body.diagnostics || []);
        this.onStatus(`${e.message}; the show keeps the running pattern`, true);
      } else {
        this.onStatus(`compile failed: ${e.message}`, true);
      }
    } finally {
      this.inFlight = false;
      if (this.pending) {
        this.pending = false;
        this.compileNow();
      }
    }
  }

  // Diagnostics for `text`: dropped when the text has changed since (the
  // compile of the newer text brings its own).
  showDiagnostics(text, diagnostics) {
    if (text !== this.text()) return;
    const doc = this.view.state.doc;
    const marks = diagnostics.map((d) => {
      const line = doc.line(Math.min(Math.max(d.line || 1, 1), doc.lines));
      const from = line.from + Math.min(Math.max((d.column || 1) - 1, 0), line.length);
      const word = /^[A-Za-z0-9_.]+/.exec(doc.sliceString(from, line.to));
      const to = Math.min(from + (word ? word[0].length : 1), line.to);
      const severity = d.severity === "error" ? "error" : d.severity === "warning" ? "warning" : "info";
      const message = `${d.code ? d.code + ": " : ""}${d.message}${d.help ? `\nhelp: ${d.help}` : ""}`;
      return { from, to: Math.max(to, from), severity, message };
    });
    this.view.dispatch(setDiagnostics(this.view.state, marks));
    this.onDiagnostics(diagnostics);
  }

  async save() {
    try {
      const text = this.text();
      const reply = await request("PUT", "api/source", { source: text });
      this.disk = text;
      this.onStatus(`saved ${reply.bytes} bytes to ${reply.path}`);
    } catch (e) {
      const why = e instanceof ApiError && e.status === 409 ? "the show has no file to save to" : e.message;
      this.onStatus(`not saved: ${why}`, true);
    }
  }

  // Events from the show.
  sourceChanged(event) {
    this.path = event.path;
    this.disk = event.source;
    if (event.source === this.text()) return;
    this.name = event.pattern || this.name;
    this.setText(event.source);
    this.onStatus(`reloaded ${event.path || this.name}: it changed on disk`);
  }

  // A compile's diagnostics (a save's, another studio's, our own): marked when
  // they are for the text on screen.
  diagnosticsArrived(event) {
    if (typeof event.source === "string") this.showDiagnostics(event.source, event.diagnostics || []);
  }
}
