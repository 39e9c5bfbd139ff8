/** The file tree: fills while a job streams and marks changed and streaming files. */
import { useEffect, useRef } from "preact/hooks";
import { select } from "../actions/editing";
import { buildTree, toggle, visibleRows } from "../state/tree";
import { useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";

export function FileTree() {
  const ctx = useCtx();
  const files = useApp((s) => s.files);
  const saved = useApp((s) => s.saved);
  const selected = useApp((s) => s.selected);
  const closed = useApp((s) => s.closed);
  const job = useApp((s) => s.job);
  const list = useRef<HTMLDivElement>(null);
  const paths = Object.keys(files);
  const writing = job?.stream.writing ?? null;
  useEffect(() => {
    list.current?.querySelector(".tree-row.writing")?.scrollIntoView({ block: "nearest" });
  }, [writing]);

  const rows = paths.length ? visibleRows(buildTree(paths), closed) : [];
  const open = new Set(job?.stream.open ?? []);
  return (
    <>
      <div class="panel-head">
        <h2 class="panel-title">Files</h2>
        <span class="muted small">{paths.length ? String(paths.length) : ""}</span>
      </div>
      <div class="tree" data-testid="file-tree" role={rows.length ? "tree" : undefined} aria-label="Files" ref={list}>
        {rows.length === 0 ? (
          <div class="tree-empty">{job ? "Waiting for the first file…" : "Files appear here as they are written."}</div>
        ) : (
          rows.map(({ node, depth }) => {
            const isDir = node.kind === "dir";
            const changed = !isDir && saved[node.path] !== files[node.path];
            const classes = ["tree-row", isDir ? "dir" : "file"];
            if (node.path === selected) classes.push("selected");
            if (node.path === writing || open.has(node.path)) classes.push("writing");
            const activate = (): void => {
              if (isDir) ctx.store.set({ closed: toggle(ctx.store.get().closed, node.path) });
              else select(ctx, node.path);
            };
            return (
              <div
                key={node.path}
                class={classes.join(" ")}
                role="treeitem"
                tabIndex={0}
                aria-level={depth + 1}
                aria-selected={isDir ? undefined : node.path === selected}
                aria-expanded={isDir ? !closed.has(node.path) : undefined}
                data-path={node.path}
                title={node.path}
                style={{ paddingLeft: `${8 + depth * 14}px` }}
                onClick={activate}
                onKeyDown={(e) => {
                  if (e.key === "Enter" || e.key === " ") {
                    e.preventDefault();
                    activate();
                  }
                }}
              >
                {isDir ? <Icon name={closed.has(node.path) ? "chevronRight" : "chevron"} size={12} /> : <span class="tree-gap" />}
                <Icon name={isDir ? "folder" : "file"} size={14} />
                <span class="tree-name">{node.name}</span>
                {changed ? <span class="dot" title={job ? "Being written" : "Unsaved changes"} /> : null}
              </div>
            );
          })
        )}
      </div>
    </>
  );
}
