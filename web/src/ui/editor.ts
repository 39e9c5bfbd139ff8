/** The editor pane: header with the path and Save, CodeMirror loaded on first use. */
import { isLatest, isStreaming, type AppState } from "../state/app";
import { diffFiles, hasChanges } from "../state/files";
import type { Store } from "../state/store";
import type { Actions } from "./actions";
import type { EditorHandle } from "./codemirror";
import { h, icon } from "./dom";
import type { TerminalSink } from "./preview-host";

export function mountEditor(root: HTMLElement, store: Store<AppState>, actions: Actions, terminal: TerminalSink): void {
  const path = h("span", { class: "editor-path", testid: "editor-path" });
  const badge = h("span", { class: "badge" });
  const save = h("button", { class: "btn btn-small", testid: "save-button", title: "Save a new version (Ctrl+S)" }, icon("save", 14), "Save");
  const host = h("div", { class: "editor", testid: "editor" });
  const placeholder = h("div", { class: "editor-empty" }, "Select a file to edit it.");
  const run = h("button", { class: "btn btn-small", testid: "run-button", title: "Run this file, or the selection, in the JS sandbox (output in the terminal)", hidden: true }, "Run");
  root.append(h("div", { class: "panel-head editor-head" }, path, badge, h("span", { class: "spacer" }), run, save), host, placeholder);
  run.addEventListener("click", () => {
    const s = store.get();
    const file = s.selected;
    if (file === null || s.files[file] === undefined) return;
    const snippet = editor?.selection() ?? "";
    void import("../preview/js-sandbox").then(({ runInTerminal }) => runInTerminal(snippet || (s.files[file] as string), snippet ? `selection of ${file}` : file, terminal));
  });

  let editor: EditorHandle | null = null;
  let loading: Promise<EditorHandle> | null = null;
  let previewTimer: ReturnType<typeof setTimeout> | undefined;

  const ensureEditor = (): Promise<EditorHandle> => {
    loading ??= import("./codemirror").then(({ createEditor }) => {
      editor = createEditor(host, (file, content) => {
        actions.editFile(file, content);
        clearTimeout(previewTimer);
        previewTimer = setTimeout(() => actions.previewFile(file, content), 400);
      });
      return editor;
    });
    return loading;
  };

  save.addEventListener("click", () => void actions.save());
  document.addEventListener("keydown", (e) => {
    if (e.key === "s" && (e.metaKey || e.ctrlKey)) {
      e.preventDefault();
      void actions.save();
    }
  });

  store.watch(["selected", "files", "saved", "saving", "job", "version", "project"], (s) => {
    const file = s.selected;
    const content = file === null ? undefined : s.files[file];
    const streaming = isStreaming(s);
    const hasFile = file !== null && content !== undefined;
    host.hidden = !hasFile;
    run.hidden = !hasFile || !/\.(m?js|cjs)$/.test(file);
    placeholder.hidden = hasFile;
    placeholder.textContent = Object.keys(s.files).length ? "Select a file to edit it." : s.job ? "Waiting for the first file…" : "No files yet.";
    path.textContent = hasFile ? file : "";
    const writing = streaming && s.job?.stream.writing === file;
    badge.textContent = streaming ? (writing ? "writing…" : "read-only") : !isLatest(s) ? `v${s.version} · read-only` : "";
    badge.hidden = badge.textContent === "";
    badge.className = `badge${writing ? " live" : ""}`;
    const dirty = s.job === null && hasChanges(diffFiles(s.saved, s.files));
    save.disabled = !dirty || s.saving || !isLatest(s);
    save.classList.toggle("btn-primary", dirty);
    if (!hasFile) return;
    const readOnly = s.job !== null || !isLatest(s);
    if (editor) editor.show(file, content, readOnly);
    else void ensureEditor().then((e) => {
      const now = store.get();
      const f = now.selected;
      if (f !== null && now.files[f] !== undefined) e.show(f, now.files[f], now.job !== null || !isLatest(now));
    });
  });
}
