/**
 * The fallback engine's build: the project bundled by esbuild-wasm, packages from kiln's
 * package service through an import map, Tailwind's input for the frame, all in one
 * document for the sandboxed frame.
 */
import { ApiClient, type TokenStore } from "../api/client";
import { bundle, bundleModule, findEntry, initBundler } from "./bundler";
import { appDocument, linkedStylesheets, type TailwindInput } from "./frame";
import { createPackageResolver, onlyImportedExports, PACKAGE_ADVICE, type ResolveFn } from "./packages";
import { BuildError } from "./problems";
import type { ImportMap } from "./resolver";
import { createTailwindWorker, cssOnly, isTailwindCss, scanCandidates, tailwindConfigPath, toV4Source, type TailwindJob } from "./tailwind";

/** Builds the document that runs the project; throws BuildError for what the author must fix. */
export type FallbackBuild = (files: Map<string, string>) => Promise<string>;

function readOnly(store: Storage | null): TokenStore | null {
  return store && { getItem: (k) => store.getItem(k), setItem: () => undefined, removeItem: () => undefined };
}

function pageStorage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/** POST /api/packages/resolve with the page's token if it has one, never storing one. */
function resolveThroughApi(origin: string): ResolveFn {
  // Standalone (the test harness) the preview must not replace the session of the app it runs in.
  const api = new ApiClient({ origin, storage: readOnly(pageStorage()) });
  return (deps) => api.resolvePackages(deps, { lockfile: false });
}

export function createFallbackBuild(origin: string, resolvePackages?: ResolveFn): FallbackBuild {
  // Start the slow part at once: esbuild's wasm (0.5-1 s).
  const bundlerReady = initBundler(`${origin}/vendor/esbuild.wasm`);
  bundlerReady.catch(() => undefined);
  const packagesFor = createPackageResolver(resolvePackages ?? resolveThroughApi(origin), origin, pageStorage());
  const tailwindInPage = createTailwindWorker(() => new Worker(new URL("./tailwind-worker.ts", import.meta.url), { type: "module" }));

  return async (files) => {
    const entry = findEntry(files);
    if (!entry) {
      throw new BuildError([{ source: "build", message: "no entry module: index.html loads none and there is no src/main.*" }]);
    }
    performance.mark("kiln:build-start");
    // Tailwind compiles in the page's worker while packages resolve and the bundle builds,
    // on a guess of its entries (the Tailwind stylesheets in path order; kept per job, so a
    // right guess is the answer below, a wrong one costs only the worker's time)
    const guessed = [...files].filter(([p, c]) => p.endsWith(".css") && isTailwindCss(c)).map(([p]) => p);
    const early = tailwindInPage && guessed.length ? cssOnlyJob(files, guessed.sort()) : null;
    if (early) tailwindInPage?.(early).catch(() => undefined);
    // the bundle reads the project while its packages resolve; a package problem is the answer
    const resolving = packagesFor(files);
    const bundling = bundlerReady.then(() => bundle({ files, entry, importMap: resolving }));
    bundling.catch(() => undefined);
    const [map] = await Promise.all([resolving, bundlerReady]);
    performance.mark("kiln:packages-resolved");
    const out = await bundling;
    performance.mark("kiln:bundled");
    const only = onlyImportedExports(out.js, packagesFor.appOnly(files));
    const bundled = out.packageUrls.map((u) => [...only.urls].find(([spec]) => map.imports[spec] === u)?.[1] ?? u);
    const indexHtml = files.get("index.html");
    const linked = indexHtml ? linkedStylesheets(indexHtml).map((p) => files.get(p) ?? "") : [];
    const job = tailwindInPage && out.tailwind.length ? cssOnlyJob(files, out.tailwind) : null;
    // a compile error is left to the frame's compiler, which reports it with the app running
    const tailwindCss = job && tailwindInPage ? await tailwindInPage(job).catch(() => undefined) : undefined;
    performance.mark("kiln:tailwind-compiled");
    const tailwind = out.tailwind.length && tailwindCss === undefined ? await tailwindInput(origin, files, out.tailwind, map) : null;
    return appDocument({
      indexHtml,
      js: only.js,
      css: [...linked, out.css].join("\n"),
      importMap: map,
      parentOrigin: location.origin,
      packageCss: out.packageCss,
      preload: packagesFor.graphOf(files, bundled),
      // the bundle's own imports first, then every package, for one that fails deeper down
      packageUrls: [...new Set([...bundled, ...Object.entries(map.imports).filter(([k]) => !k.endsWith("/")).map(([, u]) => u)])],
      tailwind,
      ...(tailwindCss !== undefined ? { tailwindCss } : {}),
      advice: PACKAGE_ADVICE,
    });
  };
}

/** The page worker's Tailwind job, or null where Tailwind loads code (a config or plugin). */
function cssOnlyJob(files: Map<string, string>, entries: string[]): TailwindJob | null {
  if (tailwindConfigPath(files)) return null;
  const sources: Record<string, string> = {};
  for (const [p, c] of files) if (p.endsWith(".css")) sources[p] = toV4Source(p, c, null);
  return cssOnly(sources) ? { entries, sources, candidates: scanCandidates(files) } : null;
}

/** The frame's Tailwind job: stylesheets in v4 form, the config bundled (not run), candidates. */
async function tailwindInput(origin: string, files: Map<string, string>, entries: string[], map: ImportMap): Promise<TailwindInput> {
  const config = tailwindConfigPath(files);
  const sources: Record<string, string> = {};
  for (const [p, c] of files) if (p.endsWith(".css")) sources[p] = toV4Source(p, c, config);
  const modules: Record<string, string> = {};
  const wanted = new Set<string>(config ? [config] : []);
  for (const css of Object.values(sources)) {
    for (const m of css.matchAll(/@(?:config|plugin)\s+["'](\.{1,2}\/[^"']+)["']/g)) {
      const rel = m[1] ?? "";
      const p = [...files.keys()].find((f) => f === rel.replace(/^\.\//, "") || f.endsWith(rel.replace(/^(\.\.?\/)+/, "")));
      if (p) wanted.add(p);
    }
  }
  for (const p of wanted) modules[p] = await bundleModule(files, p, map);
  return { compiler: `${origin}/vendor/tailwind/tailwind.js`, entries, sources, modules, candidates: scanCandidates(files) };
}
