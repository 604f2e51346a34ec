// build.mjs — builds the studio into OUTDIR: index.html, studio.js (the ES
// modules of src/ and CodeMirror 6, bundled and minified by esbuild) and
// studio.css. Needs only studio/node_modules (`npm ci --prefix studio`), no
// network. Usage: node studio/build.mjs OUTDIR
import { copyFile, mkdir } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const outdir = process.argv[2];
if (!outdir) {
  console.error("usage: node studio/build.mjs OUTDIR");
  process.exit(2);
}
const out = resolve(outdir);

let build;
try {
  ({ build } = await import("esbuild"));
} catch {
  console.error("studio/build.mjs: esbuild is missing: run `npm ci --prefix studio` first (no network needed after it)");
  process.exit(1);
}

try {
  await mkdir(out, { recursive: true });
  await build({
    entryPoints: [join(here, "src/main.js")],
    bundle: true,
    minify: true,
    format: "esm",
    target: ["es2020"],
    legalComments: "eof",
    outfile: join(out, "studio.js"),
    logLevel: "warning",
  });
  await build({
    entryPoints: [join(here, "src/studio.css")],
    bundle: true,
    minify: true,
    outfile: join(out, "studio.css"),
    logLevel: "warning",
  });
  await copyFile(join(here, "index.html"), join(out, "index.html"));
} catch (e) {
  console.error(`studio/build.mjs: ${e.message}`);
  process.exit(1);
}
