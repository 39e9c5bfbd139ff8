/**
 * The preview: runs the project being generated next to the editor.
 *
 * Engines: WebContainers where the page is cross-origin isolated and StackBlitz's runtime
 * answers within 4 s; otherwise the fallback (esbuild-wasm bundle in a sandboxed iframe,
 * any npm package from kiln's package service (/pkg) through an import map generated per
 * dependency set, Tailwind compiled in the frame); Pyodide in a worker for Python. Every
 * side effect on the running app goes through one serial queue.
 */
import type { WebContainer } from "@webcontainer/api";
import { ApiClient, type TokenStore } from "../api/client";
import { bundle, bundleModule, findEntry, initBundler } from "./bundler";
import { appDocument, errorDocument, isFrameMessage, linkedStylesheets, messageDocument, pythonDocument, type TailwindInput } from "./frame";
import { createPackageResolver, PACKAGE_ADVICE, type ResolveFn, type ResolvedPackages } from "./packages";
import { BuildError, type Problem } from "./problems";
import type { DomOp } from "./python-dom";
import { createPythonEngine, type PythonEngine } from "./python";
import { createQueue } from "./queue";
import { scanCandidates, tailwindConfigPath, toV4Source } from "./tailwind";
import { bootWebContainer, deleteProjectFile, readProjectFile, startProject, writeProjectFile } from "./webcontainer";

export type { Problem } from "./problems";
export { runSnippet, type SnippetResult } from "./snippet";

export type Framework = "react" | "vue" | "vanilla" | "python";
export type Engine = "webcontainer" | "fallback" | "pyodide";
export interface TerminalSink {
  write(text: string): void;
}
export interface PreviewStatus {
  engine: Engine;
  phase: string;
  message?: string;
}
export interface PreviewHost {
  mount(el: HTMLElement, terminal: TerminalSink): void;
  load(framework: Framework, files: Record<string, string>): Promise<void>;
  writeFile(path: string, content: string): void;
  /** The file as the running project has it (from the WebContainer when it runs one). */
  readFile(path: string): Promise<string | null>;
  deleteFile(path: string): void;
  setWidth(px: number | null): void;
  /** Builds the running project again (after a package registry outage, say). */
  retry(): void;
  onProblem(cb: (p: Problem) => void): void;
  onStatus(cb: (s: PreviewStatus) => void): void;
  dispose(): void;
}

export interface PreviewOptions {
  /** Where /vendor/ and /pyodide/ are served; the app's own origin by default. */
  origin?: string;
  /** Try WebContainers first when the page is cross-origin isolated (default true). */
  webcontainer?: boolean;
  bootTimeoutMs?: number;
  probeUrl?: string;
  debounceMs?: number;
  /** Where Pyodide loads numpy, pandas, micropip... (default: the official CDN). */
  pythonPackagesUrl?: string;
  /** Resolves package.json's dependencies (default: POST /api/packages/resolve). */
  resolvePackages?: ResolveFn;
}

/** Sandbox of the fallback and Python frames: never our origin. */
// Forms and dialogs work as in a normal page; no allow-same-origin, so the app never shares
// kiln's origin, storage or token.
const SANDBOX = "allow-scripts allow-forms allow-modals";
/** The WebContainer preview lives on StackBlitz's own origin, so same-origin there is its own. */
const RUNNER_TIMEOUT_MS = 5000;
const WC_SANDBOX = "allow-scripts allow-same-origin allow-forms allow-popups allow-modals";

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

export function createPreview(options: PreviewOptions = {}): PreviewHost {
  const origin = (options.origin ?? location.origin).replace(/\/$/, "");
  const frameUrl = `${origin}/vendor/frame.html`;
  const debounceMs = options.debounceMs ?? 50;
  const queue = createQueue();
  const files = new Map<string, string>();
  const problemCbs: ((p: Problem) => void)[] = [];
  const statusCbs: ((s: PreviewStatus) => void)[] = [];
  let container: HTMLElement | null = null;
  let terminal: TerminalSink = { write: () => undefined };
  let iframe: HTMLIFrameElement | null = null;
  let width: number | null = null;
  let engine: Engine | null = null;
  let wc: WebContainer | null = null;
  let python: PythonEngine | null = null;
  let rebuildTimer: ReturnType<typeof setTimeout> | undefined;
  let pythonTimer: ReturnType<typeof setTimeout> | undefined;
  let pendingHtml: { html: string; done: () => void } | null = null;
  let frameQueue: unknown[] | null = null;
  let disposed = false;

  // Start the slow part at once: esbuild's wasm (0.5-1 s).
  const bundlerReady = initBundler(`${origin}/vendor/esbuild.wasm`);
  bundlerReady.catch(() => undefined);
  // Standalone (the test harness): the page's token if it has one, and never stores one,
  // so the preview cannot replace the session of the app it runs in.
  const api = options.resolvePackages ? null : new ApiClient({ base: `${origin}/api`, storage: readOnly(pageStorage()) });
  const resolvePackages: ResolveFn =
    options.resolvePackages ?? ((deps) => (api as ApiClient).request<ResolvedPackages>("POST", "/packages/resolve?lockfile=false", { body: deps }));
  const packagesFor = createPackageResolver(resolvePackages, origin, pageStorage());

  const problem = (p: Problem): void => problemCbs.forEach((cb) => cb(p));
  const status = (s: PreviewStatus): void => statusCbs.forEach((cb) => cb(s));

  function makeFrame(sandbox: string): HTMLIFrameElement {
    iframe?.remove();
    const f = document.createElement("iframe");
    f.dataset.testid = "preview-frame";
    f.setAttribute("sandbox", sandbox);
    f.setAttribute("title", "App preview");
    f.style.cssText = `border:0;height:100%;display:block;margin:0 auto;background:#fff;width:${width === null ? "100%" : `${width}px`};max-width:100%`;
    container?.appendChild(f);
    iframe = f;
    return f;
  }

  /**
   * Loads a document through the runner page: fresh navigation, fresh JS realm. Resolves
   * once the document is handed over, or after RUNNER_TIMEOUT_MS with a problem that
   * names the likely cause, so a misconfigured server never hangs the queue.
   */
  function show(html: string): Promise<void> {
    const f = iframe && iframe.getAttribute("sandbox") === SANDBOX ? iframe : makeFrame(SANDBOX);
    return new Promise<void>((resolve) => {
      pendingHtml?.done();
      const timer = setTimeout(() => {
        if (pendingHtml?.html !== html) return;
        pendingHtml = null;
        problem({
          source: "runtime",
          message:
            `the preview frame (${frameUrl}) did not start within ${RUNNER_TIMEOUT_MS} ms: ` +
            "it must be served with a CSP that allows inline scripts and with CORS for /vendor/",
        });
        resolve();
      }, RUNNER_TIMEOUT_MS);
      pendingHtml = {
        html,
        done: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      f.src = frameUrl;
    });
  }

  function postToFrame(message: unknown): void {
    if (frameQueue) frameQueue.push(message);
    else iframe?.contentWindow?.postMessage(message, "*");
  }

  function onMessage(e: MessageEvent): void {
    if (!iframe || e.source !== iframe.contentWindow || !isFrameMessage(e.data)) return;
    const m = e.data as { type: string } & Record<string, unknown>;
    if (m.type === "runner" && pendingHtml) {
      const { html, done } = pendingHtml;
      pendingHtml = null;
      iframe.contentWindow?.postMessage({ kiln: "preview-load", html }, "*");
      done();
    } else if (isFrameMessage(e.data)) {
      const msg = e.data;
      if (msg.type === "problem") problem(msg.problem);
      else if (msg.type === "console") terminal.write(`[preview ${msg.level}] ${msg.text}\n`);
      else if (msg.type === "ready") {
        if (engine === "fallback") status({ engine: "fallback", phase: "ready" });
        if (frameQueue) {
          const queued = frameQueue;
          frameQueue = null;
          queued.forEach(postToFrame);
        }
      } else if (msg.type === "dom-event") python?.event(msg.id, msg.event, msg.value, msg.checked);
    }
  }

  async function rebuild(): Promise<void> {
    if (disposed) return;
    status({ engine: "fallback", phase: "building" });
    try {
      const entry = findEntry(files);
      if (!entry) {
        throw new BuildError([{ source: "build", message: "no entry module: index.html loads none and there is no src/main.*" }]);
      }
      const [map] = await Promise.all([packagesFor(files), bundlerReady]);
      const out = await bundle({ files, entry, importMap: map });
      const indexHtml = files.get("index.html");
      const linked = indexHtml ? linkedStylesheets(indexHtml).map((p) => files.get(p) ?? "") : [];
      const html = appDocument({
        indexHtml,
        js: out.js,
        css: [...linked, out.css].join("\n"),
        importMap: map,
        parentOrigin: location.origin,
        packageCss: out.packageCss,
        preload: packagesFor.graphOf(files, out.packageUrls),
        // the bundle's own imports first, then every package, for one that fails deeper down
        packageUrls: [...new Set([...out.packageUrls, ...Object.entries(map.imports).filter(([k]) => !k.endsWith("/")).map(([, u]) => u)])],
        tailwind: out.tailwind.length ? await tailwindInput(out.tailwind, map) : null,
        advice: PACKAGE_ADVICE,
      });
      await show(html);
      status({ engine: "fallback", phase: "running" });
    } catch (err) {
      const problems: Problem[] = err instanceof BuildError ? err.problems : [{ source: "build", message: String(err) }];
      problems.forEach(problem);
      await show(errorDocument("The preview could not build this project", problems, location.origin));
      status({ engine: "fallback", phase: "error", message: problems[0]?.message });
    }
  }

  /** The frame's Tailwind job: stylesheets in v4 form, the config bundled (not run), candidates. */
  async function tailwindInput(entries: string[], map: Awaited<ReturnType<typeof packagesFor>>): Promise<TailwindInput> {
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

  function scheduleRebuild(): void {
    clearTimeout(rebuildTimer);
    rebuildTimer = setTimeout(() => void queue.run(rebuild), debounceMs);
  }

  async function startPython(): Promise<void> {
    frameQueue = [];
    await show(pythonDocument(location.origin));
    python ??= createPythonEngine(`${origin}/pyodide/`, {
      write: (text) => {
        terminal.write(text);
        postToFrame({ kiln: "py-out", text });
      },
      dom: (ops: DomOp[]) => postToFrame({ kiln: "py-dom", ops }),
      problem,
      status: (phase, message) => status({ engine: "pyodide", phase, message }),
    }, options.pythonPackagesUrl);
    python.run(Object.fromEntries(files));
  }

  async function startWebContainer(): Promise<boolean> {
    status({ engine: "webcontainer", phase: "booting" });
    try {
      const opts = { timeoutMs: options.bootTimeoutMs ?? 4000, ...(options.probeUrl ? { probeUrl: options.probeUrl } : {}) };
      wc = await bootWebContainer(opts);
    } catch (err) {
      status({ engine: "fallback", phase: "fallback", message: `WebContainer unavailable: ${(err as Error).message}; using the in-browser bundler` });
      return false;
    }
    const f = makeFrame(WC_SANDBOX);
    f.setAttribute("allow", "cross-origin-isolated");
    try {
      await startProject(wc, files, {
        write: (t) => terminal.write(t),
        status: (phase, message) => status({ engine: "webcontainer", phase, message }),
        serverReady: (url) => {
          f.src = url;
          status({ engine: "webcontainer", phase: "ready", message: url });
        },
      });
      return true;
    } catch (err) {
      status({ engine: "fallback", phase: "fallback", message: `WebContainer failed: ${(err as Error).message}; using the in-browser bundler` });
      return false;
    }
  }

  function applyChange(change: (w: WebContainer) => Promise<void>): void {
    if (engine === "webcontainer" && wc) {
      const w = wc;
      void queue.run(() => change(w)).catch((err: unknown) => problem({ source: "build", message: String(err) }));
    } else if (engine === "fallback") {
      scheduleRebuild();
    } else if (engine === "pyodide") {
      clearTimeout(pythonTimer);
      pythonTimer = setTimeout(() => void queue.run(startPython), 300);
    }
  }

  return {
    mount(el, sink) {
      container = el;
      terminal = sink;
      addEventListener("message", onMessage);
      makeFrame(SANDBOX);
      void show(messageDocument("The preview appears here."));
    },
    load(framework, project) {
      return queue.run(async () => {
        clearTimeout(rebuildTimer);
        clearTimeout(pythonTimer);
        if (framework !== "python") {
          python?.stop();
          python = null;
        }
        files.clear();
        for (const [p, c] of Object.entries(project)) files.set(p, c);
        if (framework === "python") {
          engine = "pyodide";
          await startPython();
          return;
        }
        const tryWc = (options.webcontainer ?? true) && globalThis.crossOriginIsolated === true;
        if (tryWc && (await startWebContainer())) {
          engine = "webcontainer";
          return;
        }
        engine = "fallback";
        await rebuild();
      });
    },
    writeFile(path, content) {
      files.set(path, content);
      applyChange((w) => writeProjectFile(w, path, content));
    },
    async readFile(path) {
      if (engine === "webcontainer" && wc) return readProjectFile(wc, path);
      return files.get(path) ?? null;
    },
    deleteFile(path) {
      files.delete(path);
      applyChange((w) => deleteProjectFile(w, path));
    },
    retry() {
      applyChange(async () => undefined);
    },
    setWidth(px) {
      width = px;
      if (iframe) iframe.style.width = px === null ? "100%" : `${px}px`;
    },
    onProblem(cb) {
      problemCbs.push(cb);
    },
    onStatus(cb) {
      statusCbs.push(cb);
    },
    dispose() {
      disposed = true;
      clearTimeout(rebuildTimer);
      clearTimeout(pythonTimer);
      python?.stop();
      removeEventListener("message", onMessage);
      iframe?.remove();
      iframe = null;
    },
  };
}
