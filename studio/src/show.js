// show.js — the show's own controls (master brightness, blackout, freeze,
// crossfade, the playlist with previous/next), its stats line, and the
// examples gallery. Every control mirrors the show's state from the events
// stream, so several studios stay in step.

import { request } from "./api.js";

const $ = (id) => document.getElementById(id);

export class ShowPanel {
  constructor({ onError, onExample }) {
    this.onError = onError;
    this.onExample = onExample;
    this.brightness = $("brightness");
    this.blackout = $("blackout");
    this.freeze = $("freeze");
    this.crossfade = $("crossfade");
    this.playlist = $("playlist");
    this.sendBrightness = this.latest("PUT", "api/brightness");
    this.brightness.addEventListener("input", () => {
      $("brightness-value").textContent = `${Math.round(this.brightness.value * 100)} %`;
      this.sendBrightness(Number(this.brightness.value));
    });
    this.blackout.addEventListener("change", () => this.send("PUT", "api/blackout", this.blackout.checked));
    this.freeze.addEventListener("change", () => this.send("PUT", "api/freeze", this.freeze.checked));
    this.crossfade.addEventListener("change", () => {
      const seconds = Number(this.crossfade.value);
      if (Number.isFinite(seconds)) this.send("PUT", "api/crossfade", seconds);
    });
    $("previous").addEventListener("click", () => this.send("POST", "api/previous"));
    $("next").addEventListener("click", () => this.send("POST", "api/next"));
    this.playlist.addEventListener("change", () => this.send("POST", `api/playlist/${this.playlist.value}`));
  }

  async send(method, path, body) {
    try {
      return await request(method, path, body);
    } catch (e) {
      this.onError(`${path.replace("api/", "")}: ${e.message}`);
    }
  }

  // A sender that keeps one request in flight and sends only the newest value next.
  latest(method, path) {
    let busy = false;
    let next;
    const go = async (value) => {
      if (busy) return void (next = value);
      busy = true;
      await this.send(method, path, value);
      busy = false;
      if (next !== undefined) {
        const v = next;
        next = undefined;
        go(v);
      }
    };
    return go;
  }

  // The whole state (the first events message, or GET /api/state).
  state(s) {
    this.setBrightness(s.brightness);
    this.blackout.checked = s.blackout;
    this.freeze.checked = s.freeze;
    this.setPlaylist(s.playlist);
    $("pattern-name").textContent = s.pattern;
  }

  setBrightness(value) {
    if (!this.brightness.matches(":active")) this.brightness.value = value;
    $("brightness-value").textContent = `${Math.round(value * 100)} %`;
  }

  setPlaylist(playlist) {
    const entries = playlist?.entries || [];
    $("playlist-box").hidden = entries.length < 2;
    this.playlist.replaceChildren(
      ...entries.map((name, i) => {
        const option = document.createElement("option");
        option.value = i;
        option.textContent = `${i + 1}. ${name}`;
        return option;
      }),
    );
    this.playlist.value = playlist?.index ?? 0;
    if (document.activeElement !== this.crossfade) this.crossfade.value = playlist?.crossfade ?? 0;
  }

  // The `stats` event, once a second, and the preview's own drawing rate.
  stats(event) {
    $("stat-fps").textContent = event.fps.toFixed(1);
    $("stat-frame").textContent = event.frame;
    $("stat-late").textContent = event.late;
    $("stat-dropped").textContent = event.dropped;
    $("stat-viewers").textContent = event.viewers;
  }

  async loadExamples() {
    const list = $("examples");
    let examples = [];
    try {
      examples = await request("GET", "api/examples");
    } catch (e) {
      this.onError(`examples: ${e.message}`);
    }
    list.replaceChildren(
      ...examples.map((example) => {
        const item = document.createElement("li");
        const button = document.createElement("button");
        button.type = "button";
        button.textContent = example.name.replace(/\.sky$/, "");
        const summary = /^#\s*(.*)$/m.exec(example.source);
        button.title = summary ? summary[1] : example.name;
        button.addEventListener("click", () => this.onExample(example.name, example.source));
        item.append(button);
        return item;
      }),
    );
    if (examples.length === 0) list.innerHTML = "<li class=hint>No examples found.</li>";
  }
}
