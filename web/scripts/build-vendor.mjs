#!/usr/bin/env node
// Build-time vendor files for the in-browser preview (web/src/preview).
//
// The fallback preview runs generated apps in a sandboxed iframe whose origin is "null";
// it resolves bare imports through an import map to ESM files served from kiln's own
// origin under /vendor/. React 19 ships CommonJS only, so each entry is bundled here into
// an ESM file whose named exports are listed explicitly (taken from the CJS module itself).
// Shared packages stay external (one React instance for react-dom and the JSX runtime).
// Also copies esbuild.wasm (the bundler's engine), the preview runner page (frame.html),
// the snippet worker and the Pyodide runtime.
//
// Usage: node scripts/build-vendor.mjs [--out dist]   (writes OUT/vendor and OUT/pyodide)

import { build } from "esbuild";
import { createRequire } from "node:module";
import { copyFile, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(web, "package.json"));
const args = process.argv.slice(2);
const outArg = args.indexOf("--out");
const outRoot = resolve(web, outArg >= 0 ? (args[outArg + 1] ?? "dist") : "dist");
const vendorDir = join(outRoot, "vendor");
const pyodideDir = join(outRoot, "pyodide");

/** Bare specifier -> output file; order matters: a later entry may import an earlier one. */
const CJS_ENTRIES = {
  react: "react.js",
  "react/jsx-runtime": "react-jsx-runtime.js",
  "react/jsx-dev-runtime": "react-jsx-dev-runtime.js",
  "react-dom": "react-dom.js",
  "react-dom/client": "react-dom-client.js",
};
/** Packages that already ship a browser ESM build: copied as they are. */
const ESM_COPIES = {
  vue: { file: "vue.js", from: "vue/dist/vue.esm-browser.js" },
};
const PYODIDE_FILES = [
  "pyodide.mjs",
  "pyodide.asm.mjs",
  "pyodide.asm.wasm",
  "python_stdlib.zip",
  "pyodide-lock.json",
];

/** esbuild plugin: `require("react")` inside a vendor bundle becomes an import of the vendor file. */
function externalShared(self) {
  const shared = Object.keys(CJS_ENTRIES).filter((s) => s !== self);
  const filter = new RegExp(`^(${shared.map((s) => s.replace(/[/]/g, "\\/")).join("|")})$`);
  return {
    name: "kiln-external-shared",
    setup(b) {
      b.onResolve({ filter }, (a) =>
        a.namespace === "kiln-shim"
          ? { path: a.path, external: true }
          : { path: a.path, namespace: "kiln-shim" },
      );
      b.onLoad({ filter: /.*/, namespace: "kiln-shim" }, (a) => ({
        contents: `export * from ${JSON.stringify(a.path)};`,
        loader: "js",
      }));
    },
  };
}

async function bundleCjs(specifier, file) {
  process.env.NODE_ENV = "development";
  const names = Object.keys(require(specifier)).filter(
    (n) => n !== "default" && /^[A-Za-z_$][\w$]*$/.test(n),
  );
  const entry = [
    `import * as m from ${JSON.stringify(specifier)};`,
    `const mod = m.default ?? m;`,
    `export default mod;`,
    ...names.map((n) => `export const ${n} = mod[${JSON.stringify(n)}];`),
  ].join("\n");
  await build({
    stdin: { contents: entry, resolveDir: web, sourcefile: `${file}-entry.js` },
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    outfile: join(vendorDir, file),
    define: { "process.env.NODE_ENV": '"development"' },
    plugins: [externalShared(specifier)],
    logLevel: "warning",
    legalComments: "none",
  });
  return names.length;
}

async function main() {
  await rm(vendorDir, { recursive: true, force: true });
  await mkdir(vendorDir, { recursive: true });
  const imports = {};
  for (const [specifier, file] of Object.entries(CJS_ENTRIES)) {
    const n = await bundleCjs(specifier, file);
    imports[specifier] = file;
    console.log(`vendor: ${specifier} -> vendor/${file} (${n} named exports)`);
  }
  for (const [specifier, { file, from }] of Object.entries(ESM_COPIES)) {
    await copyFile(require.resolve(from), join(vendorDir, file));
    imports[specifier] = file;
    console.log(`vendor: ${specifier} -> vendor/${file}`);
  }
  await copyFile(require.resolve("esbuild-wasm/esbuild.wasm"), join(vendorDir, "esbuild.wasm"));
  for (const f of ["frame.html", "snippet-worker.js"]) {
    await copyFile(join(web, "scripts", f), join(vendorDir, f));
  }
  const versions = {};
  for (const pkg of ["react", "react-dom", "vue", "esbuild-wasm", "pyodide"]) {
    versions[pkg] = JSON.parse(await readFile(require.resolve(`${pkg}/package.json`), "utf8")).version;
  }
  await writeFile(
    join(vendorDir, "manifest.json"),
    `${JSON.stringify({ imports, versions }, null, 2)}\n`,
  );

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
