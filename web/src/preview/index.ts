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
import { createFallbackBuild } from "./fallback";
import { errorDocument, messageDocument, pythonDocument } from "./frame";
import { createFrameHost, type FrameHost, WC_SANDBOX } from "./frame-host";
import type { ResolveFn } from "./packages";
import { BuildError, type Problem } from "./problems";
import { createPythonEngine, type PythonEngine } from "./python";
import { createQueue } from "./queue";
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

/**
 * Boots a WebContainer and starts the project in it, its dev server shown in a fresh frame;
 * null (with a status that says why) where it cannot, so the caller falls back.
 */
async function runInWebContainer(
  files: Map<string, string>,
  frames: FrameHost,
  host: { terminal: TerminalSink; status: (s: PreviewStatus) => void; options: PreviewOptions },
): Promise<WebContainer | null> {
  const { terminal, status, options } = host;
  status({ engine: "webcontainer", phase: "booting" });
  let wc: WebContainer;
  try {
    const opts = { timeoutMs: options.bootTimeoutMs ?? 4000, ...(options.probeUrl ? { probeUrl: options.probeUrl } : {}) };
    wc = await bootWebContainer(opts);
  } catch (err) {
    status({ engine: "fallback", phase: "fallback", message: `WebContainer unavailable: ${(err as Error).message}; using the in-browser bundler` });
    return null;
  }
  const f = frames.make(WC_SANDBOX);
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
    return wc;
  } catch (err) {
    status({ engine: "fallback", phase: "fallback", message: `WebContainer failed: ${(err as Error).message}; using the in-browser bundler` });
    return null;
  }
}

/** Subscribers of the preview's problems and status. */
function createListeners<T>(): { add(cb: (v: T) => void): void; emit(v: T): void } {
  const cbs: ((v: T) => void)[] = [];
  return { add: (cb) => void cbs.push(cb), emit: (v) => cbs.forEach((cb) => cb(v)) };
}

export function createPreview(options: PreviewOptions = {}): PreviewHost {
  const origin = (options.origin ?? location.origin).replace(/\/$/, "");
  const debounceMs = options.debounceMs ?? 50;
  const queue = createQueue();
  const files = new Map<string, string>();
  const problems = createListeners<Problem>();
  const statuses = createListeners<PreviewStatus>();
  const problem = problems.emit;
  const status = statuses.emit;
  let terminal: TerminalSink = { write: () => undefined };
  let engine: Engine | null = null;
  let wc: WebContainer | null = null;
  let python: PythonEngine | null = null;
  let rebuildTimer: ReturnType<typeof setTimeout> | undefined;
  let pythonTimer: ReturnType<typeof setTimeout> | undefined;
  let disposed = false;

  const build = createFallbackBuild(origin, options.resolvePackages);
  const frames = createFrameHost(`${origin}/vendor/frame.html`, {
    problem,
    console: (level, text) => terminal.write(`[preview ${level}] ${text}\n`),
    ready: () => {
      if (engine === "fallback") status({ engine: "fallback", phase: "ready" });
    },
    domEvent: (id, event, value, checked) => python?.event(id, event, value, checked),
  });

  async function rebuild(): Promise<void> {
    if (disposed) return;
    status({ engine: "fallback", phase: "building" });
    try {
      await frames.show(await build(files));
      status({ engine: "fallback", phase: "running" });
    } catch (err) {
      const found: Problem[] = err instanceof BuildError ? err.problems : [{ source: "build", message: String(err) }];
      found.forEach(problem);
      await frames.show(errorDocument("The preview could not build this project", found, location.origin));
      status({ engine: "fallback", phase: "error", message: found[0]?.message });
    }
  }

  async function startPython(): Promise<void> {
    frames.holdUntilReady();
    await frames.show(pythonDocument(location.origin));
    python ??= createPythonEngine(`${origin}/pyodide/`, {
      write: (text) => {
        terminal.write(text);
        frames.post({ kiln: "py-out", text });
      },
      dom: (ops) => frames.post({ kiln: "py-dom", ops }),
      problem,
      status: (phase, message) => status({ engine: "pyodide", phase, message }),
    }, options.pythonPackagesUrl);
    python.run(Object.fromEntries(files));
  }

  async function startWebContainer(): Promise<boolean> {
    wc = await runInWebContainer(files, frames, { terminal, status, options });
    return wc !== null;
  }

  /** A file changed: the WebContainer takes the change, the other engines run the project again. */
  function applyChange(change: (w: WebContainer) => Promise<void>): void {
    if (engine === "webcontainer" && wc) {
      const w = wc;
      void queue.run(() => change(w)).catch((err: unknown) => problem({ source: "build", message: String(err) }));
    } else if (engine === "fallback") {
      clearTimeout(rebuildTimer);
      rebuildTimer = setTimeout(() => void queue.run(rebuild), debounceMs);
    } else if (engine === "pyodide") {
      clearTimeout(pythonTimer);
      pythonTimer = setTimeout(() => void queue.run(startPython), 300);
    }
  }

  async function load(framework: Framework, project: Record<string, string>): Promise<void> {
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
  }

  return {
    mount(el, sink) {
      terminal = sink;
      frames.attach(el);
      void frames.show(messageDocument("The preview appears here."));
    },
    load: (framework, project) => queue.run(() => load(framework, project)),
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
    setWidth: (px) => frames.setWidth(px),
    onProblem: problems.add,
    onStatus: statuses.add,
    dispose() {
      disposed = true;
      clearTimeout(rebuildTimer);
      clearTimeout(pythonTimer);
      python?.stop();
      frames.dispose();
    },
  };
}
