// controls.js — the pattern's params as form controls, rebuilt for each
// pattern: a slider per float (its `in` range; a number box when it has
// none), two sliders for a vec2, a colour picker for a vec3 declared `color`,
// three sliders for another vec3. Changes go out through PUT /api/params/NAME,
// one request at a time per param with the newest value next, so dragging a
// slider never queues a backlog; `params` events from other clients move
// the controls unless the user is holding that one.

import { request } from "./api.js";

let uid = 0;

// Sends values to one param, at most one request in flight.
function throttled(name, onError) {
  let busy = false;
  let next = null;
  const send = async (value) => {
    if (busy) {
      next = value;
      return;
    }
    busy = true;
    try {
      await request("PUT", `api/params/${encodeURIComponent(name)}`, value);
    } catch (e) {
      onError(`${name}: ${e.message}`);
    } finally {
      busy = false;
      if (next !== null) {
        const v = next;
        next = null;
        send(v);
      }
    }
  };
  return send;
}

const toHex = (rgb) =>
  "#" + rgb.map((c) => Math.round(Math.min(Math.max(c, 0), 1) * 255).toString(16).padStart(2, "0")).join("");
const fromHex = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
const rounded = (v) => String(Math.round(v * 1000) / 1000);

// A slider for one float (signed: a vector component, whose range without
// `in` is symmetric); returns its
// element and a setter for values arriving from the show.
function numberInput(label, value, min, max, signed, onInput) {
  const id = `param-${uid++}`;
  const row = document.createElement("div");
  row.className = "control";
  const text = document.createElement("label");
  text.htmlFor = id;
  text.textContent = label;
  const input = document.createElement("input");
  input.id = id;
  // Without an `in` range the slider spans twice the value's size (at least
  // 1), from 0 for a positive value: the API takes any value, the slider the
  // likely ones.
  if (min === null || max === null || !(max > min)) {
    const reach = Math.max(1, 2 * Math.abs(value));
    [min, max] = [value >= 0 && !signed ? 0 : -reach, reach];
  }
  input.type = "range";
  input.min = min;
  input.max = max;
  input.step = (max - min) / 1000;
  input.value = value;
  const shown = document.createElement("output");
  shown.htmlFor = id;
  shown.textContent = rounded(value);
  input.addEventListener("input", () => {
    const v = Number(input.value);
    if (!Number.isFinite(v)) return;
    shown.textContent = rounded(v);
    onInput(v);
  });
  row.append(text, input, shown);
  const set = (v) => {
    if (document.activeElement === input && input.matches(":active")) return; // being dragged
    input.value = v;
    shown.textContent = rounded(v);
  };
  return { row, set, input };
}

export class Controls {
  constructor(container, onError) {
    this.container = container;
    this.onError = onError;
    this.setters = new Map(); // param name → setter(value)
  }

  // Builds the controls for a pattern's params (state.params or a `pattern` event's).
  build(params) {
    this.container.replaceChildren();
    this.setters.clear();
    if (!params || params.length === 0) {
      const none = document.createElement("p");
      none.className = "hint";
      none.textContent = "This pattern has no params.";
      this.container.append(none);
      return;
    }
    for (const p of params) this.container.append(this.control(p));
  }

  control(p) {
    const send = throttled(p.name, this.onError);
    const box = document.createElement("fieldset");
    box.className = "param";
    box.dataset.param = p.name;
    const legend = document.createElement("legend");
    legend.textContent = p.name;
    if (p.doc) legend.title = p.doc;
    box.append(legend);
    if (p.type === "vec3" && p.color) {
      const id = `param-${uid++}`;
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = "colour";
      const input = document.createElement("input");
      input.type = "color";
      input.id = id;
      input.value = toHex(p.value);
      input.addEventListener("input", () => send(fromHex(input.value)));
      box.append(label, input);
      this.setters.set(p.name, (v) => (input.value = toHex(v)));
    } else if (p.type === "vec2" || p.type === "vec3") {
      const value = [...p.value];
      const parts = ["x", "y", "z"].slice(0, value.length).map((axis, k) => {
        const c = numberInput(axis, value[k], p.min, p.max, true, (v) => {
          value[k] = v;
          send([...value]);
        });
        box.append(c.row);
        return c;
      });
      this.setters.set(p.name, (v) => v.forEach((x, k) => ((value[k] = x), parts[k].set(x))));
    } else if (p.type === "bool") {
      const id = `param-${uid++}`;
      const input = document.createElement("input");
      input.type = "checkbox";
      input.id = id;
      input.checked = Boolean(p.value);
      const label = document.createElement("label");
      label.htmlFor = id;
      label.textContent = "on";
      input.addEventListener("change", () => send(input.checked ? 1 : 0));
      box.append(input, label);
      this.setters.set(p.name, (v) => (input.checked = Boolean(v)));
    } else {
      const c = numberInput("value", p.value, p.min, p.max, false, send);
      box.append(c.row);
      this.setters.set(p.name, c.set);
    }
    if (p.doc) {
      const doc = document.createElement("p");
      doc.className = "hint";
      doc.textContent = p.doc;
      box.append(doc);
    }
    return box;
  }

  // A `params` event: another client (or this one) set a value.
  changed(name, value) {
    this.setters.get(name)?.(value);
  }
}
