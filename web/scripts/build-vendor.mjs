#!/usr/bin/env node
// Build-time files of the in-browser preview (web/src/preview), served from kiln's origin.
//
// The fallback preview runs generated apps in a sandboxed iframe whose origin is "null".
// Their packages (react, vue, any npm package) come from kiln's package service (/pkg/...)
// through an import map generated per dependency set; nothing of the app is vendored here.
// What is vendored is the preview's own machinery: esbuild.wasm (the bundler's engine), the
// Tailwind v4 compiler (`tailwindcss`'s compile() as one ES module, with its stylesheets)
// that the frame runs on the app's CSS, the preview runner page (frame.html), the snippet
// worker and the Pyodide runtime.
//
// Usage: node scripts/build-vendor.mjs [--out dist]   (writes OUT/vendor and OUT/pyodide)

import { build } from "esbuild";
import { createRequire } from "node:module";
import { copyFile, mkdir, readFile, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(web, "package.json"));
const args = process.argv.slice(2);
const outArg = args.indexOf("--out");
const outRoot = resolve(web, outArg >= 0 ? (args[outArg + 1] ?? "dist") : "dist");
const vendorDir = join(outRoot, "vendor");
const pyodideDir = join(outRoot, "pyodide");

const TAILWIND_STYLESHEETS = ["index.css", "theme.css", "preflight.css", "utilities.css"];
const PYODIDE_FILES = [
  "pyodide.mjs",
  "pyodide.asm.mjs",
  "pyodide.asm.wasm",
  "python_stdlib.zip",
  "pyodide-lock.json",
];

/** tailwindcss's compile() (no Node APIs) as one browser module, plus the stylesheets it imports. */
async function vendorTailwind() {
  const dir = join(vendorDir, "tailwind");
  await mkdir(dir, { recursive: true });
  await build({
    // its ESM build (the "import" condition), so compile() is a named export
    stdin: { contents: 'export * from "tailwindcss";', resolveDir: web, sourcefile: "tailwind-entry.js" },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    minify: true,
    outfile: join(dir, "tailwind.js"),
    logLevel: "warning",
    legalComments: "none",
  });
  const root = dirname(require.resolve("tailwindcss/package.json"));
  for (const f of TAILWIND_STYLESHEETS) await copyFile(join(root, f), join(dir, f));
}

async function main() {
  await rm(vendorDir, { recursive: true, force: true });
  await mkdir(vendorDir, { recursive: true });
  await vendorTailwind();
  await copyFile(require.resolve("esbuild-wasm/esbuild.wasm"), join(vendorDir, "esbuild.wasm"));
  for (const f of ["frame.html", "snippet-worker.js"]) {
    await copyFile(join(web, "scripts", f), join(vendorDir, f));
  }
  const versions = {};
  for (const pkg of ["tailwindcss", "esbuild-wasm", "pyodide"]) {
    versions[pkg] = JSON.parse(await readFile(require.resolve(`${pkg}/package.json`), "utf8")).version;
  }
  console.log(`vendor: tailwindcss ${versions.tailwindcss} compiler, esbuild-wasm ${versions["esbuild-wasm"]}`);

  await rm(pyodideDir, { recursive: true, force: true });
  await mkdir(pyodideDir, { recursive: true });
  const pyodideRoot = dirname(require.resolve("pyodide/package.json"));
  for (const f of PYODIDE_FILES) await copyFile(join(pyodideRoot, f), join(pyodideDir, f));
  console.log(`vendor: pyodide ${versions.pyodide} runtime -> ${pyodideDir} (no extra packages)`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
