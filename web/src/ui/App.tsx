/** The page: top bar, then chat | files + editor | preview, plus drawer, dialog, toast. */
import type { RefObject } from "preact";
import { useCallback, useEffect, useRef } from "preact/hooks";
import { addProblem, type Ctx } from "../actions/context";
import { boot } from "../actions/projects";
import type { Pane } from "../state/app";
import { Chat } from "./Chat";
import { DeployDialog } from "./Deploy";
import { DiffDialog } from "./DiffDialog";
import { Editor } from "./Editor";
import { FileTree } from "./FileTree";
import { History } from "./History";
import { AppContext, useApp, useCtx } from "./hooks";
import { loadPreview } from "./preview-host";
import { PreviewPane } from "./PreviewPane";
import { applySizes, Splitter } from "./Splitter";
import type { BufferedTerminal } from "./terminal";
import { Toast } from "./Toast";
import { Topbar } from "./Topbar";

export function App({ ctx, terminal }: { ctx: Ctx; terminal: BufferedTerminal }) {
  const workspace = useRef<HTMLElement>(null);

  useEffect(() => {
    if (workspace.current) applySizes(workspace.current);
    void boot(ctx);
    // A click outside the open popover closes it, and so does Escape.
    const outside = (e: Event): void => {
      if (ctx.store.get().popover && !(e.target as Element).closest?.("[data-popover]")) ctx.store.set({ popover: null });
    };
    const escape = (e: KeyboardEvent): void => {
      if (e.key === "Escape" && ctx.store.get().popover) ctx.store.set({ popover: null });
    };
    document.addEventListener("click", outside);
    document.addEventListener("keydown", escape);
    return () => {
      document.removeEventListener("click", outside);
      document.removeEventListener("keydown", escape);
    };
  }, [ctx]);

  // The engine mounts its iframe into the preview pane once, with the shell's session.
  const mountPreview = useCallback(
    (frame: HTMLElement) => {
      void ctx.api
        .health()
        .catch(() => null)
        .then((h) => loadPreview({ resolvePackages: (deps) => ctx.api.resolvePackages(deps), ...(h?.pyodide_packages_url ? { pythonPackagesUrl: h.pyodide_packages_url } : {}) }))
        .then(
        (host) => {
          host.mount(frame, terminal);
          host.onProblem((p) => addProblem(ctx, p));
          host.onStatus((s) => ctx.store.set({ previewStatus: `${engineName(s.engine)} · ${s.message ?? s.phase}` }));
          ctx.preview.attach(host);
        },
        (err: unknown) => addProblem(ctx, { source: "build", message: `The preview engine failed to load: ${String(err)}` }),
      );
    },
    [ctx, terminal],
  );

  return (
    <AppContext.Provider value={ctx}>
      <Topbar />
      <PaneTabs />
      <Workspace terminal={terminal} frame={mountPreview} workspace={workspace} />
      <History />
      <DeployDialog />
      <DiffDialog />
      <Toast />
    </AppContext.Provider>
  );
}

interface WorkspaceProps {
  terminal: BufferedTerminal;
  frame: (el: HTMLElement) => void;
  workspace: RefObject<HTMLElement | null>;
}

/** Chat | files + editor | preview; on a narrow screen only the pane its tab picks. */
function Workspace({ terminal, frame, workspace }: WorkspaceProps) {
  const pane = useApp((s) => s.pane);
  return (
      <main class="workspace" ref={workspace} data-pane={pane}>
        <section class="panel chat" aria-label="Chat">
          <Chat />
          <Splitter which="chat" edge="right" min={260} keep={760} />
        </section>
        <div class="panel-group">
          <section class="panel files" aria-label="Files">
            <FileTree />
          </section>
          <section class="panel code" aria-label="Editor">
            <Editor terminal={terminal} />
          </section>
        </div>
        <section class="panel preview" aria-label="Preview">
          <PreviewPane terminal={terminal} frame={frame} />
          <Splitter which="preview" edge="left" min={320} keep={640} />
        </section>
      </main>
  );
}

const PANES: readonly { key: Pane; label: string }[] = [
  { key: "chat", label: "Chat" },
  { key: "code", label: "Code" },
  { key: "preview", label: "Preview" },
];

/** On a phone or tablet the three panes are tabs (hidden by CSS on a wide screen). */
function PaneTabs() {
  const ctx = useCtx();
  const pane = useApp((s) => s.pane);
  return (
    <nav class="pane-tabs" role="tablist" aria-label="Panes">
      {PANES.map((p) => (
        <button
          key={p.key}
          class="pane-tab"
          role="tab"
          aria-selected={pane === p.key}
          data-testid={`pane-${p.key}`}
          onClick={() => ctx.store.set({ pane: p.key })}
        >
          {p.label}
        </button>
      ))}
    </nav>
  );
}

function engineName(engine: string): string {
  return engine === "webcontainer" ? "WebContainer" : engine === "pyodide" ? "Pyodide" : "In-browser bundler";
}
