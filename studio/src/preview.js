// preview.js — draws the frames of /api/frames at each LED's position from
// /api/layout. Dots are rasterised straight into an ImageData (no canvas
// paths): 100k LEDs of a disc are ~100k small fills per frame, and each pixel
// gets exactly the frame's colour, with no anti-aliasing to blend it, so what
// the canvas shows at an LED is what the driver sends there.

const BACKGROUND = 0xff161310; // ABGR: #101316, opaque
const DOT_FILL = 0.45; // dot radius as a share of the LED spacing: a gap between neighbours
const ZOOM_STEP = 1.25;

export class Preview {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d", { alpha: false });
    this.layout = null;
    this.frame = null; // newest decoded frame, drawn at the next animation frame
    this.drawnFrame = 0;
    this.view = null; // {scale (px per layout unit), cx, cy (layout point at the centre)}
    this.geometry = null; // per-view cache: LED → pixel index, the dot's row spans
    this.dirty = true;
    this.onDraw = null;
    this.bindInput();
    new ResizeObserver(() => this.resize()).observe(canvas);
    this.resize();
    const tick = () => {
      this.draw();
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }

  setLayout(layout) {
    this.layout = layout;
    this.view = null;
    this.invalidate();
  }

  setFrame(frame) {
    this.frame = frame;
    this.dirty = true;
  }

  invalidate() {
    this.geometry = null;
    this.dirty = true;
  }

  resize() {
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (width === this.canvas.width && height === this.canvas.height) return;
    this.canvas.width = width;
    this.canvas.height = height;
    this.view = null;
    this.invalidate();
  }

  // The view that shows every LED, with half a spacing of margin around it.
  fit() {
    const { bounds, spacing } = this.layout;
    const margin = spacing || 0.01;
    const spanX = Math.max(bounds[2] - bounds[0] + 2 * margin, 1e-6);
    const spanY = Math.max(bounds[3] - bounds[1] + 2 * margin, 1e-6);
    return {
      scale: Math.min(this.canvas.width / spanX, this.canvas.height / spanY),
      cx: (bounds[0] + bounds[2]) / 2,
      cy: (bounds[1] + bounds[3]) / 2,
    };
  }

  // Canvas pixel of a layout point (y up in the layout, down on screen).
  toCanvas(x, y) {
    const v = this.view;
    return [this.canvas.width / 2 + (x - v.cx) * v.scale, this.canvas.height / 2 - (y - v.cy) * v.scale];
  }

  // Where LED i is drawn, in canvas pixels (whole numbers), or null when off screen.
  ledToCanvas(i) {
    if (!this.geometry) this.buildGeometry();
    const p = this.geometry.pixel[i];
    if (p < 0) return null;
    const w = this.geometry.width;
    return [(p % w) - this.geometry.pad, Math.floor(p / w) - this.geometry.pad];
  }

  // Caches each LED's pixel in a buffer padded on every side, so a dot near
  // the edge never needs clipping.
  buildGeometry() {
    if (!this.view) this.view = this.fit();
    const { positions, dims, leds, spacing } = this.layout;
    const radius = Math.max(0, Math.min(256, (spacing || 0) * this.view.scale * DOT_FILL));
    // A centre up to reach = ceil(radius) pixels outside the canvas still shows
    // part of its dot; padding by twice that keeps every span inside its row.
    const reach = Math.ceil(radius);
    const pad = 2 * reach + 1;
    const width = this.canvas.width + 2 * pad;
    const height = this.canvas.height + 2 * pad;
    const pixel = new Int32Array(leds);
    for (let i = 0; i < leds; i++) {
      const [sx, sy] = this.toCanvas(positions[i * dims], positions[i * dims + 1]);
      const px = Math.floor(sx);
      const py = Math.floor(sy);
      const visible = px >= -reach && py >= -reach && px < this.canvas.width + reach && py < this.canvas.height + reach;
      pixel[i] = visible ? (py + pad) * width + px + pad : -1;
    }
    // A disc as row spans: row offset dy, half width hw (a single pixel below radius 1).
    const spans = [];
    const r = Math.floor(radius);
    for (let dy = -r; dy <= r; dy++) {
      spans.push(dy * width, Math.floor(Math.sqrt(Math.max(0, radius * radius - dy * dy))));
    }
    this.geometry = { pixel, spans, width, height, pad, image: this.ctx.createImageData(width, height) };
    this.geometry.words = new Uint32Array(this.geometry.image.data.buffer);
  }

  draw() {
    if (!this.dirty || !this.layout) return;
    if (!this.geometry) this.buildGeometry();
    const { pixel, spans, words, image, pad } = this.geometry;
    words.fill(BACKGROUND);
    const frame = this.frame;
    if (frame && frame.leds === this.layout.leds) {
      const rgb = frame.rgb;
      const channels = frame.channels;
      for (let i = 0; i < frame.leds; i++) {
        const p = pixel[i];
        if (p < 0) continue;
        const o = i * channels;
        const colour = 0xff000000 | (rgb[o + 2] << 16) | (rgb[o + 1] << 8) | rgb[o];
        for (let s = 0; s < spans.length; s += 2) {
          const centre = p + spans[s];
          words.fill(colour, centre - spans[s + 1], centre + spans[s + 1] + 1);
        }
      }
      this.drawnFrame = frame.frame;
    }
    this.ctx.putImageData(image, -pad, -pad, pad, pad, this.canvas.width, this.canvas.height);
    this.dirty = false;
    this.onDraw?.(this.drawnFrame);
  }

  // Zooms by factor keeping the layout point under canvas pixel (sx, sy) still.
  zoom(factor, sx = this.canvas.width / 2, sy = this.canvas.height / 2) {
    if (!this.layout) return;
    if (!this.view) this.view = this.fit();
    const v = this.view;
    const fitScale = this.fit().scale;
    const scale = Math.min(Math.max(v.scale * factor, fitScale / 4), fitScale * 400);
    const ax = v.cx + (sx - this.canvas.width / 2) / v.scale;
    const ay = v.cy - (sy - this.canvas.height / 2) / v.scale;
    this.view = {
      scale,
      cx: ax - (sx - this.canvas.width / 2) / scale,
      cy: ay + (sy - this.canvas.height / 2) / scale,
    };
    this.invalidate();
  }

  // Moves the view by (dx, dy) canvas pixels.
  pan(dx, dy) {
    if (!this.layout) return;
    if (!this.view) this.view = this.fit();
    this.view = { ...this.view, cx: this.view.cx - dx / this.view.scale, cy: this.view.cy + dy / this.view.scale };
    this.invalidate();
  }

  reset() {
    this.view = null;
    this.invalidate();
  }

  bindInput() {
    const canvas = this.canvas;
    const ratio = () => window.devicePixelRatio || 1;
    const local = (e) => {
      const box = canvas.getBoundingClientRect();
      return [(e.clientX - box.left) * ratio(), (e.clientY - box.top) * ratio()];
    };
    canvas.addEventListener(
      "wheel",
      (e) => {
        e.preventDefault();
        this.zoom(Math.pow(ZOOM_STEP, -e.deltaY / 100), ...local(e));
      },
      { passive: false },
    );
    // Pointers: one drags, two pinch (zoom about their midpoint).
    const pointers = new Map();
    canvas.addEventListener("pointerdown", (e) => {
      canvas.setPointerCapture(e.pointerId);
      pointers.set(e.pointerId, local(e));
    });
    const lift = (e) => pointers.delete(e.pointerId);
    canvas.addEventListener("pointerup", lift);
    canvas.addEventListener("pointercancel", lift);
    canvas.addEventListener("pointermove", (e) => {
      if (!pointers.has(e.pointerId)) return;
      const now = local(e);
      if (pointers.size === 1) {
        const [x0, y0] = pointers.get(e.pointerId);
        this.pan(now[0] - x0, now[1] - y0);
      } else if (pointers.size === 2) {
        const [other] = [...pointers].filter(([id]) => id !== e.pointerId).map(([, p]) => p);
        const before = Math.hypot(pointers.get(e.pointerId)[0] - other[0], pointers.get(e.pointerId)[1] - other[1]);
        const after = Math.hypot(now[0] - other[0], now[1] - other[1]);
        if (before > 0) this.zoom(after / before, (now[0] + other[0]) / 2, (now[1] + other[1]) / 2);
      }
      pointers.set(e.pointerId, now);
    });
    canvas.addEventListener("dblclick", () => this.reset());
    canvas.addEventListener("keydown", (e) => {
      const step = Math.min(canvas.width, canvas.height) / 10;
      const keys = {
        ArrowLeft: () => this.pan(step, 0),
        ArrowRight: () => this.pan(-step, 0),
        ArrowUp: () => this.pan(0, step),
        ArrowDown: () => this.pan(0, -step),
        "+": () => this.zoom(ZOOM_STEP),
        "=": () => this.zoom(ZOOM_STEP),
        "-": () => this.zoom(1 / ZOOM_STEP),
        0: () => this.reset(),
      };
      if (keys[e.key] && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        keys[e.key]();
      }
    });
  }
}
