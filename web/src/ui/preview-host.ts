/**
 * The preview engine's interface (implemented by web/src/preview/index.ts) and how
 * the shell loads it: lazily, and with a plain stand-in while that module is absent.
 */
import type { Framework } from "../api/types";
import type { Problem } from "../state/app";

export interface TerminalSink {
  write(text: string): void;
}

export interface PreviewStatus {
  engine: "webcontainer" | "fallback" | "pyodide";
  phase: string;
  message?: string;
}

export interface PreviewHost {
  mount(el: HTMLElement, terminal: TerminalSink): void;
  load(framework: Framework, files: Record<string, string>): Promise<void>;
  writeFile(path: string, content: string): void;
  deleteFile(path: string): void;
  setWidth(px: number | null): void;
  /** Builds the running project again (after a package registry outage, say). */
  retry(): void;
  onProblem(cb: (p: Problem) => void): void;
  onStatus(cb: (s: PreviewStatus) => void): void;
  dispose(): void;
}

/** What the shell lends the engine: package resolution with the shell's own session. */
export interface PreviewOptions {
  resolvePackages?: (deps: { dependencies: Record<string, string>; devDependencies: Record<string, string> }) => Promise<{
    packages: Record<string, string>;
    importmap: { imports: Record<string, string>; scopes?: Record<string, Record<string, string>> };
  }>;
  /** Where Pyodide's packages come from (the server's setting); the official CDN if unset. */
  pythonPackagesUrl?: string;
}

interface PreviewModule {
  createPreview(options?: PreviewOptions): PreviewHost;
}

// A glob (not a plain import) so the shell still builds before the engine exists.
const engines = import.meta.glob<PreviewModule>("../preview/index.ts");

export async function loadPreview(options: PreviewOptions = {}): Promise<PreviewHost> {
  const loader = engines["../preview/index.ts"];
  if (loader) return (await loader()).createPreview(options);
  return createStandIn();
}

/** Shows the project's file list in a sandboxed frame; replaced by the real engine. */
function createStandIn(): PreviewHost {
  let frame: HTMLIFrameElement | null = null;
  let files: Record<string, string> = {};
  const statusListeners: ((s: PreviewStatus) => void)[] = [];
  const render = (): void => {
    if (!frame) return;
    const items = Object.keys(files)
      .sort()
      .map((p) => `<li>${p.replace(/[<&]/g, "")}</li>`)
      .join("");
    frame.srcdoc = `<body style="font:14px system-ui;color:#334155;padding:24px"><p>The preview engine is not part of this build.</p><ul>${items}</ul></body>`;
  };
  return {
    mount(el) {
      frame = document.createElement("iframe");
      frame.setAttribute("sandbox", "allow-scripts");
      frame.title = "Preview";
      el.append(frame);
    },
    async load(_framework, next) {
      files = { ...next };
      render();
      for (const cb of statusListeners) cb({ engine: "fallback", phase: "ready" });
    },
    writeFile(path, content) {
      files[path] = content;
      render();
    },
    deleteFile(path) {
      delete files[path];
      render();
    },
    retry() {
      render();
    },
    setWidth(px) {
      if (frame) frame.style.width = px === null ? "100%" : `${px}px`;
    },
    onProblem() {},
    onStatus(cb) {
      statusListeners.push(cb);
    },
    dispose() {
      frame?.remove();
      frame = null;
    },
  };
}
