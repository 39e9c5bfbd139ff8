/** The editor pane: header with the path and Save, CodeMirror loaded on first use (until it
 * is, the file shows as plain text, so a generation's first files are never a blank pane). */
import { useEffect, useRef, useState } from "preact/hooks";
import { editFile, previewFile } from "../actions/editing";
import { save } from "../actions/versions";
import { type AppState, isLatest, isStreaming } from "../state/app";
import { diffFiles, hasChanges } from "../state/files";
import type { EditorHandle } from "./codemirror";
import { useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";
import type { TerminalSink } from "./preview-host";

const PREVIEW_DEBOUNCE_MS = 400;

export function Editor({ terminal }: { terminal: TerminalSink }) {
  const ctx = useCtx();
  const file = useApp((s) => s.selected);
  const content = useApp((s) => (s.selected === null ? undefined : s.files[s.selected]));
  const anyFiles = useApp((s) => Object.keys(s.files).length > 0);
  const streaming = useApp(isStreaming);
  const job = useApp((s) => s.job);
  const latest = useApp(isLatest);
  const version = useApp((s) => s.version);
  const saving = useApp((s) => s.saving);
  const dirty = useApp((s) => s.job === null && hasChanges(diffFiles(s.saved, s.files)));
  const host = useRef<HTMLDivElement>(null);
  const editor = useRef<Promise<EditorHandle> | null>(null);
  const [ready, setReady] = useState(false);

  const hasFile = file !== null && content !== undefined;
  const runnable = hasFile && /\.(m?js|cjs)$/.test(file);
  const readOnly = job !== null || !latest;

  useEffect(() => {
    const onKey = (e: KeyboardEvent): void => {
      if (e.key === "s" && (e.metaKey || e.ctrlKey)) {
        e.preventDefault();
        void save(ctx);
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [ctx]);

  useEffect(() => {
    if (!hasFile || !host.current) return;
    const el = host.current;
    editor.current ??= import("./codemirror").then(({ createEditor }) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      return createEditor(el, (path, text) => {
        editFile(ctx, path, text);
        clearTimeout(timer);
        timer = setTimeout(() => previewFile(ctx, path, text), PREVIEW_DEBOUNCE_MS);
      });
    });
    void editor.current.then((e) => {
      setReady(true);
      const now = ctx.store.get();
      const f = now.selected;
      if (f !== null && now.files[f] !== undefined) e.show(f, now.files[f], now.job !== null || !isLatest(now));
    });
  }, [ctx, hasFile, file, content, readOnly]);

  // A generation is about to write files: fetch the editor's code now, not at the first file.
  const generating = job !== null;
  useEffect(() => {
    if (generating) void import("./codemirror");
  }, [generating]);

  const writing = streaming && job?.stream.writing === file;
  const badge = streaming ? (writing ? "writing…" : "read-only") : !latest ? `v${version} · read-only` : "";
  return (
    <>
      <div class="panel-head editor-head">
        <span class="editor-path" data-testid="editor-path">
          {hasFile ? file : ""}
        </span>
        <span class={`badge${writing ? " live" : ""}`} hidden={!badge}>
          {badge}
        </span>
        <span class="spacer" />
        {hasFile ? <span class="editor-hint">Esc then Tab leaves the editor</span> : null}
        <button
          class="btn btn-small"
          data-testid="run-button"
          title="Run this file, or the selection, in the JS sandbox (output in the terminal)"
          hidden={!runnable}
          onClick={() => void runFile(ctx.store.get(), editor.current, terminal)}
        >
          Run
        </button>
        <button
          class={`btn btn-small${dirty ? " btn-primary" : ""}`}
          data-testid="save-button"
          title="Save a new version (Ctrl+S)"
          disabled={!dirty || saving || !latest}
          onClick={() => void save(ctx)}
        >
          <Icon name="save" size={14} />
          Save
        </button>
      </div>
      <div class="editor" data-testid="editor" ref={host} hidden={!hasFile || !ready} />
      {hasFile && !ready ? (
        <pre class="editor-fallback" data-testid="editor-fallback" tabIndex={0} aria-label={`${file} (the editor is loading)`}>
          {content}
        </pre>
      ) : null}
      <div class="editor-empty" hidden={hasFile}>
        {anyFiles ? "Select a file to edit it." : job ? "Waiting for the first file…" : "No files yet."}
      </div>
    </>
  );
}

/** The selected text, or else the whole file, in the Web Worker sandbox; output in the terminal. */
async function runFile(s: AppState, editor: Promise<EditorHandle> | null, terminal: TerminalSink): Promise<void> {
  const file = s.selected;
  if (file === null || s.files[file] === undefined) return;
  const snippet = editor ? (await editor).selection() : "";
  const { runInTerminal } = await import("../preview/js-sandbox");
  await runInTerminal(snippet || (s.files[file] as string), snippet ? `selection of ${file}` : file, terminal);
}
