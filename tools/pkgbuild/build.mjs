// kiln's package builder: one npm package folder + a specifier -> browser ESM.
// A long-lived process: each stdin line is a request {"id", "root", "dir", "specifier",
// "subpath", "dependencies", "url" (the package's /pkg/name@version/), "only" (null, or the
// only exports of an ES module entry to keep: esbuild drops the rest), "inline" ({package
// folder: {"url", "deps": {name: the folder its node_modules/name is unpacked in}}}: those
// imports are bundled, not left to the import map)}; each stdout line the answer with the
// same id (builds overlap).
// It never runs the package's code: esbuild only parses it, and cjs-module-lexer finds a
// CommonJS module's export names statically.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { builtinModules, createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import * as esbuild from "esbuild";
import { init, parse } from "cjs-module-lexer";

const CONDITIONS = ["browser", "module", "import", "default"];
const MAIN_FIELDS = ["browser", "module", "main"];
const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const ASSET = /\.(png|jpe?g|gif|webp|avif|svg|ico|woff2?|ttf|otf|eot)$/i;
const IDENT = /^[A-Za-z_$][\w$]*$/;

// Browser stand-ins for Node's `process` and `Buffer` globals (and the `process` and
// `buffer` modules a package requires without depending on them): esbuild injects one only
// into a module that uses it. Buffer is the `buffer` package (feross/buffer), as
// browserify and webpack 4 gave it.
const SHIMS = mkdtempSync(path.join(os.tmpdir(), "kiln-pkgbuild-shims-"));
const BUFFER = createRequire(import.meta.url).resolve("buffer/"); // the package, not the builtin
const TOOL_MODULES = path.dirname(path.dirname(BUFFER));
const PROCESS_SHIM = path.join(SHIMS, "process.js");
const BUFFER_SHIM = path.join(SHIMS, "buffer.js");
writeFileSync(PROCESS_SHIM, `const process = {
  env: { NODE_ENV: "production" }, browser: true, title: "browser", argv: [], execArgv: [],
  version: "", versions: {}, platform: "browser", pid: 1, exitCode: 0,
  cwd: () => "/", chdir() {}, umask: () => 0, uptime: () => performance.now() / 1000,
  hrtime: Object.assign((t) => { const n = performance.now() * 1e6, s = Math.floor(n / 1e9), ns = Math.floor(n % 1e9);
    return t ? [s - t[0], ns - t[1]] : [s, ns]; }, { bigint: () => BigInt(Math.floor(performance.now() * 1e6)) }),
  nextTick: (fn, ...args) => queueMicrotask(() => fn(...args)),
  emitWarning() {}, on() { return process; }, once() { return process; }, off() { return process; },
  addListener() { return process; }, removeListener() { return process; }, removeAllListeners() { return process; },
  emit: () => false, listeners: () => [], binding() { throw new Error("process.binding is not supported"); },
};
export { process };
export default process;
`);
writeFileSync(path.join(SHIMS, "package.json"), '{"sideEffects": false}'); // unused: left out
writeFileSync(BUFFER_SHIM, `export { Buffer } from ${JSON.stringify(BUFFER)};\n`);
const SHIMMED = { process: PROCESS_SHIM, "node:process": PROCESS_SHIM, buffer: BUFFER, "node:buffer": BUFFER };
process.on("exit", () => rmSync(SHIMS, { recursive: true, force: true }));

// A stylesheet a package's code imports becomes a <link> the module adds to the page
// (once, before the app's own styles), as a bundler would put it in the app's CSS: files
// of the package by their /pkg URL, another package's through the import map.
function stylesheet(href) {
  return `const href = new URL(${href}, import.meta.url).href;
if (typeof document !== "undefined" && ![...document.querySelectorAll("link[rel=stylesheet]")].some((l) => l.href === href)) {
  const link = document.createElement("link");
  link.rel = "stylesheet";
  link.href = href;
  document.head.insertBefore(link, document.querySelector("head > style[data-kiln]"));
}
export {};
`;
}

function bare(spec) {
  return !spec.startsWith(".") && !spec.startsWith("/") && !spec.startsWith("#");
}

// Resolve the specifier as the browser would import it (exports conditions, then fields).
async function resolveEntry(dir, specifier) {
  let found = null;
  await esbuild.build({
    stdin: { contents: `import ${JSON.stringify(specifier)}`, resolveDir: dir },
    bundle: true, write: false, platform: "browser", logLevel: "silent",
    conditions: CONDITIONS, mainFields: MAIN_FIELDS,
    plugins: [{
      name: "entry",
      setup(build) {
        build.onResolve({ filter: /.*/ }, async (args) => {
          if (args.importer !== "<stdin>" || args.pluginData === "inner") return undefined;
          const r = await build.resolve(args.path, {
            kind: args.kind, resolveDir: args.resolveDir, pluginData: "inner",
          });
          if (r.errors.length) throw new Error(r.errors[0].text);
          found = r.path;
          return { path: args.path, external: true };
        });
      },
    }],
  });
  return found;
}

// A CommonJS module's named exports, following `module.exports = require("./x")` re-exports.
function cjsNames(file, seen = new Set()) {
  if (seen.has(file)) return new Set();
  seen.add(file);
  const { exports, reexports } = parse(readFileSync(file, "utf8"));
  const names = new Set(exports);
  for (const re of reexports) {
    if (!re.startsWith(".")) continue;
    for (const ext of ["", ".js", ".cjs", "/index.js"]) {
      const next = path.resolve(path.dirname(file), re + ext);
      try {
        for (const n of cjsNames(next, seen)) names.add(n);
        break;
      } catch { /* try the next extension */ }
    }
  }
  return names;
}

function isCommonJS(file) {
  if (file.endsWith(".mjs")) return false;
  if (file.endsWith(".cjs")) return true;
  const src = readFileSync(file, "utf8");
  if (/(^|[\s;])(import\s*[\w{*"']|export\s+[\w{*])/m.test(src)) return false;
  const { exports, reexports } = parse(src);
  return exports.length > 0 || reexports.length > 0 || /\bmodule\.exports\b|\bexports\./.test(src);
}

function wrapper(file) {
  const names = [...cjsNames(file)].filter((n) => n !== "default" && n !== "__esModule");
  // A namespace import: for a CJS module marked __esModule (TypeScript's output, e.g. cookie)
  // esbuild's default import is exports.default, often undefined; the namespace holds it all.
  const lines = [`import * as __ns from ${JSON.stringify(file)};`];
  lines.push("const __m = __ns.__esModule ? __ns : __ns.default;");
  lines.push("export default (__m && __m.__esModule && 'default' in __m) ? __m.default : __m;");
  names.forEach((n, i) => {
    lines.push(`const __${i} = __m[${JSON.stringify(n)}];`);
    lines.push(`export { __${i} as ${IDENT.test(n) ? n : JSON.stringify(n)} };`);
  });
  return lines.join("\n");
}

async function main(input) {
  const declared = new Set(input.dependencies ?? []);
  const dir = input.dir;
  const inline = input.inline ?? {};
  const folders = Object.keys(inline).sort((a, b) => b.length - a.length);
  const folderOf = (file) => folders.find((f) => file.startsWith(f + path.sep));
  const packageOf = (spec) => spec.split("/").slice(0, spec.startsWith("@") ? 2 : 1).join("/");
  let entry = await resolveEntry(input.root, input.specifier).catch((e) => ({ error: e.message }));
  const literal = input.subpath ? path.join(dir, input.subpath) : null;
  if ((!entry || entry.error) && literal && existsSync(literal) && statSync(literal).isFile()) {
    entry = literal; // a file the package has but does not list in "exports" (often CSS)
  }
  if (!entry || entry.error) {
    return { error: "not_found", message: entry?.error ?? `cannot resolve ${input.specifier}` };
  }
  if (/\.(css|json)$/i.test(entry) || ASSET.test(entry)) return { raw: entry };
  // Bare imports stay external for the import map. A CommonJS `require("x")` of one is
  // turned into a binding injected from `import * as ns from "x"` (its default export is
  // the module.exports our wrapper gives every CommonJS package), since the browser has
  // no require(); this needs a second pass, only for packages that do it.
  const required = new Map();
  const imports = new Set(); // what the module asks the import map for (kiln builds these ahead)
  const external = (inject) => ({
    name: "external",
    setup(build) {
      build.onResolve({ filter: /^[^.]/ }, async (args) => { // relative imports never need the plugin (a round trip to JS each)
        if (args.pluginData === "kiln-inline") return undefined;
        if (args.path === BUFFER) return { path: BUFFER, sideEffects: false };
        const owner = bare(args.path) && args.kind !== "entry-point" ? folderOf(args.importer) : undefined;
        const into = owner && inline[owner].deps[packageOf(args.path)];
        if (into) { // a private dependency: bundled, resolved from the folder of its version
          const r = await build.resolve(args.path, { kind: args.kind, resolveDir: into, importer: args.importer, pluginData: "kiln-inline" });
          if (r.errors.length) return { errors: r.errors };
          return { path: r.path, namespace: r.namespace, sideEffects: r.sideEffects };
        }
        if (args.kind === "entry-point" || args.namespace === "kiln-require" || !bare(args.path)) return undefined;
        if (args.importer.startsWith(SHIMS) || args.importer.startsWith(TOOL_MODULES)) return undefined;
        const builtin = BUILTINS.has(args.path) && !declared.has(args.path.split("/")[0]);
        if (builtin && SHIMMED[args.path]) return { path: SHIMMED[args.path] };
        if (builtin) return undefined;
        if (/\.css$/i.test(args.path)) return { path: args.path, namespace: "kiln-css" };
        if (args.kind === "require-call") {
          if (!required.has(args.path)) required.set(args.path, `__kiln_req_${required.size}`);
          if (inject) return { path: args.path, namespace: "kiln-require" };
        }
        imports.add(args.path);
        return { path: args.path, external: true };
      });
      build.onLoad({ filter: /.*/, namespace: "kiln-require" }, (args) => ({
        contents: `module.exports = ${required.get(args.path)};`, loader: "js",
      }));
      build.onLoad({ filter: /.*/, namespace: "kiln-css" }, (args) => ({
        contents: stylesheet(`import.meta.resolve(${JSON.stringify(args.path)})`), loader: "js",
      }));
      build.onLoad({ filter: /\.css$/i }, (args) => {
        const own = folderOf(args.path);
        const rel = path.relative(own ?? dir, args.path);
        if (rel.startsWith("..") || path.isAbsolute(rel)) return { contents: "", loader: "js" };
        const url = (own ? inline[own].url : input.url) + rel.split(path.sep).map(encodeURIComponent).join("/");
        return { contents: stylesheet(JSON.stringify(url)), loader: "js" };
      });
    },
  });
  const common = {
    bundle: true, write: false, format: "esm", platform: "browser", target: "es2022",
    minify: true, legalComments: "none", logLevel: "silent", metafile: true,
    conditions: CONDITIONS, mainFields: MAIN_FIELDS,
    define: {
      "process.env.NODE_ENV": '"production"', "process.env": "{}", global: "globalThis",
      // the flags Vue's esm-bundler builds expect from a bundler (as @vitejs/plugin-vue sets)
      __VUE_OPTIONS_API__: "true", __VUE_PROD_DEVTOOLS__: "false",
      __VUE_PROD_HYDRATION_MISMATCH_DETAILS__: "false",
    },
    loader: { ".png": "dataurl", ".jpg": "dataurl", ".svg": "dataurl",
      ".gif": "dataurl", ".woff": "dataurl", ".woff2": "dataurl", ".ttf": "dataurl" },
  };
  const cjs = isCommonJS(entry);
  const only = !cjs && Array.isArray(input.only) ? input.only.filter((n) => IDENT.test(n)) : null;
  const options = cjs
    ? { ...common, stdin: { contents: wrapper(entry), resolveDir: path.dirname(entry), sourcefile: "kiln-entry.js" } }
    : only
      ? { ...common, stdin: { contents: `export { ${only.join(", ")} } from ${JSON.stringify(entry)};`, resolveDir: path.dirname(entry), sourcefile: "kiln-entry.js" } }
      : { ...common, entryPoints: [entry] };
  try {
    let result = await esbuild.build({ ...options, plugins: [external(null)] });
    // Minified code keeps the names of globals, so a module that uses Node's shows them.
    const text = result.outputFiles[0].text;
    const shims = [[PROCESS_SHIM, "process"], [BUFFER_SHIM, "Buffer"]]
      .filter(([, name]) => new RegExp(`(^|[^.\\w$])${name}([^\\w$:]|$)`).test(text))
      .map(([file]) => file);
    if (required.size || shims.length) {
      const injectFile = path.join(input.root, `kiln-require-${process.pid}-${input.id}.mjs`);
      writeFileSync(injectFile, [...required].map(([spec, id], i) => (
        `import * as __ns${i} from ${JSON.stringify(spec)};\n` +
        `export const ${id} = "default" in __ns${i} ? __ns${i}.default : __ns${i};`
      )).join("\n"));
      try {
        result = await esbuild.build({ ...options, inject: [...shims, injectFile], plugins: [external(injectFile)] });
      } finally {
        rmSync(injectFile, { force: true });
      }
    }
    // what the module still imports once unused code is dropped (the service builds these ahead)
    const kept = new Set(Object.values(result.metafile.outputs).flatMap((o) => o.imports.filter((i) => i.external).map((i) => i.path)));
    return { code: result.outputFiles[0].text, cjs, entry: path.relative(dir, entry), imports: [...imports].filter((i) => kept.has(i)) };
  } catch (e) {
    const errors = e.errors ?? [{ text: String(e) }];
    const builtins = [...new Set(errors
      .map((x) => /Could not resolve "([^"]+)"/.exec(x.text)?.[1])
      .filter((m) => m && BUILTINS.has(m))
      .map((m) => m.replace(/^node:/, "")))];
    if (builtins.length) return { error: "needs_node", builtins };
    return { error: "build_failed", message: errors.slice(0, 5).map((x) => x.text).join("; ") };
  }
}

await init();
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const input = JSON.parse(line);
  main(input)
    .catch((e) => ({ error: "build_failed", message: String(e?.message ?? e) }))
    .then((answer) => process.stdout.write(JSON.stringify({ id: input.id, ...answer }) + "\n"));
}
