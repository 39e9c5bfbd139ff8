/**
 * The fallback engine's bundler: esbuild-wasm in the browser, with a plugin that reads the
 * project from memory, resolves imports with ./resolver and leaves packages as bare imports
 * for the iframe's import map (one copy of React for the app and every package). CSS
 * (imported or from SFCs) comes out as one stylesheet; CSS imported from packages as the
 * URLs to link; Tailwind sources are set aside for the frame's Tailwind compiler. Build
 * errors come out as problems with file and line.
 */
import * as esbuild from "esbuild-wasm";
import { BuildError, type Problem } from "./problems";
import { isBare, resolveImport, type ImportMap } from "./resolver";
import { isTailwindCss } from "./tailwind";

export interface BundleInput {
  files: ReadonlyMap<string, string>;
  entry: string;
  /** Awaited only by bare imports, so the project's own files are read while it resolves. */
  importMap: ImportMap | Promise<ImportMap>;
}

export interface BundleOutput {
  js: string;
  css: string;
  /** Stylesheets imported from packages (`import "leaflet/dist/leaflet.css"`), as URLs. */
  packageCss: string[];
  /** Every package URL the bundle imports, to name the one that fails to load. */
  packageUrls: string[];
  /** Project CSS files that use Tailwind, in import order (compiled in the frame). */
  tailwind: string[];
}

let ready: Promise<void> | null = null;

/** Starts esbuild's wasm once (it costs 0.5-1 s); later calls share the same promise. */
export function initBundler(wasmURL: string): Promise<void> {
  ready ??= esbuild.initialize({ wasmURL, worker: true }).catch(async (err: unknown) => {
    // A CSP without `worker-src blob:` stops esbuild's worker; run on this thread instead.
    if (String(err).includes("Worker")) return esbuild.initialize({ wasmURL, worker: false });
    throw err;
  });
  return ready;
}

const LOADERS: Record<string, esbuild.Loader> = {
  ts: "ts",
  tsx: "tsx",
  js: "jsx",
  jsx: "jsx",
  mjs: "js",
  cjs: "js",
  json: "json",
  css: "css",
  svg: "dataurl",
  txt: "text",
  md: "text",
  html: "text",
};

function extension(path: string): string {
  const m = /\.([a-z0-9]+)$/i.exec(path);
  return m ? (m[1] ?? "").toLowerCase() : "";
}

const NO_PACKAGES: ImportMap = { imports: {} };

function projectPlugin(input: BundleInput, out: BundleOutput): esbuild.Plugin {
  const paths = new Set(input.files.keys());
  const add = (list: string[], item: string): void => {
    if (!list.includes(item)) list.push(item);
  };
  return {
    name: "kiln-project",
    setup(build) {
      build.onResolve({ filter: /.*/ }, async (args) => {
        if (args.kind === "entry-point") return { path: input.entry, namespace: "kiln" };
        const importer = args.namespace === "kiln" ? args.importer : "";
        const r = resolveImport(args.path, importer, paths, isBare(args.path) ? await input.importMap : NO_PACKAGES);
        if (r.kind === "file") return { path: r.path, namespace: "kiln" };
        if (r.kind === "package" && /\.css$/i.test(r.specifier)) {
          add(out.packageCss, r.url);
          return { path: r.specifier, namespace: "kiln-package-css" };
        }
        if (r.kind === "package") {
          add(out.packageUrls, r.url);
          return { path: r.specifier, external: true };
        }
        // url(...) in CSS that is not a project file: leave it for the browser.
        if (args.kind === "url-token" || args.kind === "import-rule") {
          return { path: args.path, external: true };
        }
        return { errors: [{ text: r.message }] };
      });
      build.onLoad({ filter: /.*/, namespace: "kiln-package-css" }, () => ({ contents: "", loader: "js" }));
      build.onLoad({ filter: /.*/, namespace: "kiln" }, async (args) => {
        const contents = input.files.get(args.path) ?? "";
        const ext = extension(args.path);
        if (ext === "css" && isTailwindCss(contents)) {
          add(out.tailwind, args.path);
          return { contents: "", loader: "css" };
        }
        if (ext === "vue") {
          const { compileSfc } = await import("./vue-sfc");
          try {
            const out = compileSfc(args.path, contents);
            return { contents: out.code, loader: out.lang };
          } catch (err) {
            if (!(err instanceof BuildError)) throw err;
            return {
              errors: err.problems.map((p) => ({
                text: p.message,
                location: { file: args.path, line: p.line ?? 1, column: Math.max(0, (p.column ?? 1) - 1) },
              })),
            };
          }
        }
        if (ext === "css" && args.path.endsWith(".module.css")) {
          return { contents, loader: "local-css" };
        }
        return { contents, loader: LOADERS[ext] ?? "text" };
      });
    },
  };
}

function toProblem(m: esbuild.Message): Problem {
  const p: Problem = { source: "build", message: m.text };
  if (m.location) {
    p.file = m.location.file.replace(/^kiln:/, "");
    p.line = m.location.line;
    p.column = m.location.column + 1;
  }
  return p;
}

export async function bundle(input: BundleInput): Promise<BundleOutput> {
  const out: BundleOutput = { js: "", css: "", packageCss: [], packageUrls: [], tailwind: [] };
  let result: esbuild.BuildResult<{ write: false; outdir: string }>;
  try {
    result = await esbuild.build({
      entryPoints: [input.entry],
      bundle: true,
      write: false,
      outdir: "/out",
      format: "esm",
      platform: "browser",
      target: "es2022",
      jsx: "automatic",
      logLevel: "silent",
      define: {
        "process.env.NODE_ENV": '"development"',
        "import.meta.env": JSON.stringify({ MODE: "development", DEV: true, PROD: false, SSR: false, BASE_URL: "/" }),
      },
      plugins: [projectPlugin(input, out)],
    });
  } catch (err) {
    const failure = err as { errors?: esbuild.Message[] };
    if (failure.errors?.length) throw new BuildError(failure.errors.map(toProblem));
    throw err;
  }
  for (const f of result.outputFiles) {
    if (f.path.endsWith(".css")) out.css += f.text;
    else if (f.path.endsWith(".js")) out.js += f.text;
  }
  return out;
}

/** One project module (a Tailwind config or plugin) as a self-contained ES module, packages external. */
export async function bundleModule(files: ReadonlyMap<string, string>, entry: string, importMap: ImportMap): Promise<string> {
  const out: BundleOutput = { js: "", css: "", packageCss: [], packageUrls: [], tailwind: [] };
  try {
    const result = await esbuild.build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      outdir: "/out",
      format: "esm",
      platform: "browser",
      target: "es2022",
      logLevel: "silent",
      plugins: [projectPlugin({ files, entry, importMap }, out)],
    });
    return result.outputFiles.map((f) => f.text).join("\n");
  } catch (err) {
    const failure = err as { errors?: esbuild.Message[] };
    if (failure.errors?.length) throw new BuildError(failure.errors.map(toProblem));
    throw err;
  }
}

/** The module the project's index.html loads (as Vite would), else a conventional main file. */
export function findEntry(files: ReadonlyMap<string, string>): string | null {
  const html = files.get("index.html");
  if (html) {
    const re = /<script\b[^>]*\btype=["']module["'][^>]*>/gi;
    for (const tag of html.match(re) ?? []) {
      const src = /\bsrc=["']([^"']+)["']/i.exec(tag)?.[1];
      if (src && !/^[a-z]+:/i.test(src)) {
        const path = src.replace(/^\.?\//, "");
        if (files.has(path)) return path;
      }
    }
  }
  const conventional = ["src/main.tsx", "src/main.ts", "src/main.jsx", "src/main.js", "src/index.tsx", "src/index.ts", "src/index.js", "main.js", "index.js"];
  return conventional.find((p) => files.has(p)) ?? null;
}
