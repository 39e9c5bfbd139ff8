/** The page: top bar, then chat | files + editor | preview, plus drawer, dialog, toast. */
import type { ApiClient } from "../api/client";
import type { AppState } from "../state/app";
import type { Store } from "../state/store";
import { Actions } from "./actions";
import { mountChat } from "./chat";
import { h } from "./dom";
import { mountEditor } from "./editor";
import { mountFileTree } from "./files";
import { mountDeploy } from "./deploy";
import { mountHistory } from "./history";
import { loadPreview } from "./preview-host";
import { mountPreviewPane } from "./preview-pane";
import { addSplitter } from "./splitter";
import { BufferedTerminal } from "./terminal";
import { mountToast } from "./toast";
import { mountTopbar } from "./topbar";

export function mountLayout(root: HTMLElement, store: Store<AppState>, api: ApiClient): Actions {
  const actions = new Actions(store, api);
  const terminal = new BufferedTerminal();

  const top = h("header", { class: "topbar" });
  const chat = h("section", { class: "panel chat", "aria-label": "Chat" });
  const tree = h("section", { class: "panel files", "aria-label": "Files" });
  const editor = h("section", { class: "panel code", "aria-label": "Editor" });
  const preview = h("section", { class: "panel preview", "aria-label": "Preview" });
  const workspace = h("main", { class: "workspace" }, chat, h("div", { class: "panel-group" }, tree, editor), preview);
  root.append(top, workspace);
  addSplitter(workspace, chat, "chat", "right", { min: 260, keep: 760 });
  addSplitter(workspace, preview, "preview", "left", { min: 320, keep: 640 });

  const openDeploy = mountDeploy(root, store, actions);
  mountTopbar(top, store, actions, openDeploy);
  mountChat(chat, store, actions);
  mountFileTree(tree, store, actions);
  mountEditor(editor, store, actions, terminal);
  const frame = mountPreviewPane(preview, store, actions, terminal);
  mountHistory(root, store, actions);
  mountToast(root, store);

  // the shell's client, so the preview shares its session and never mints a token of its own
  const health = actions.api.health().catch(() => null);
  void health
    .then((h) => loadPreview({ resolvePackages: (deps) => actions.api.resolvePackages(deps), ...(h?.pyodide_packages_url ? { pythonPackagesUrl: h.pyodide_packages_url } : {}) }))
    .then(
    (host) => {
      host.mount(frame, terminal);
      host.onProblem((p) => actions.addProblem(p));
      host.onStatus((s) => store.set({ previewStatus: `${engineName(s.engine)} · ${s.message ?? s.phase}` }));
      actions.preview.attach(host);
    },
    (err: unknown) => actions.addProblem({ source: "build", message: `The preview engine failed to load: ${String(err)}` }),
  );
  void actions.boot();
  return actions;
}

function engineName(engine: string): string {
  return engine === "webcontainer" ? "WebContainer" : engine === "pyodide" ? "Pyodide" : "In-browser bundler";
}
