/** The file tree: fills while a job streams and marks changed and streaming files. */
import type { AppState } from "../state/app";
import type { Store } from "../state/store";
import { buildTree, toggle, visibleRows } from "../state/tree";
import type { Actions } from "./actions";
import { h, icon, replaceChildren } from "./dom";

export function mountFileTree(root: HTMLElement, store: Store<AppState>, actions: Actions): void {
  const list = h("div", { class: "tree", testid: "file-tree", role: "tree" });
  const count = h("span", { class: "muted small" });
  root.append(h("div", { class: "panel-head" }, h("span", { class: "panel-title" }, "Files"), count), list);

  store.watch(["files", "saved", "selected", "closed", "job"], (s) => {
    const paths = Object.keys(s.files);
    count.textContent = paths.length ? String(paths.length) : "";
    if (paths.length === 0) {
      replaceChildren(list, h("div", { class: "tree-empty" }, s.job ? "Waiting for the first file…" : "Files appear here as they are written."));
      return;
    }
    const writing = s.job?.stream.writing ?? null;
    const open = new Set(s.job?.stream.open ?? []);
    const rows = visibleRows(buildTree(paths), s.closed);
    replaceChildren(
      list,
      ...rows.map(({ node, depth }) => {
        const isDir = node.kind === "dir";
        const changed = !isDir && s.saved[node.path] !== s.files[node.path];
        const classes = ["tree-row", isDir ? "dir" : "file"];
        if (node.path === s.selected) classes.push("selected");
        if (node.path === writing || open.has(node.path)) classes.push("writing");
        const row = h(
          "div",
          {
            class: classes.join(" "),
            role: "treeitem",
            "data-path": node.path,
            title: node.path,
            onclick: () => {
              if (isDir) store.set({ closed: toggle(store.get().closed, node.path) });
              else actions.select(node.path);
            },
          },
          isDir ? icon(s.closed.has(node.path) ? "chevronRight" : "chevron", 12) : h("span", { class: "tree-gap" }),
          icon(isDir ? "folder" : "file", 14),
          h("span", { class: "tree-name" }, node.name),
          changed ? h("span", { class: "dot", title: s.job ? "Being written" : "Unsaved changes" }) : null,
        );
        row.style.paddingLeft = `${8 + depth * 14}px`;
        return row;
      }),
    );
    list.querySelector(".tree-row.writing")?.scrollIntoView({ block: "nearest" });
  });
}
