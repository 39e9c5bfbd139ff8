/** The file tree: folders first, then files, both by name; open folders by path. */

export interface TreeNode {
  name: string;
  path: string;
  kind: "dir" | "file";
  children: TreeNode[];
}

export function buildTree(paths: Iterable<string>): TreeNode[] {
  const root: TreeNode = { name: "", path: "", kind: "dir", children: [] };
  for (const path of paths) {
    const parts = path.split("/").filter(Boolean);
    let node = root;
    parts.forEach((name, i) => {
      const isFile = i === parts.length - 1;
      const childPath = parts.slice(0, i + 1).join("/");
      let child = node.children.find((c) => c.name === name && c.kind === (isFile ? "file" : "dir"));
      if (!child) {
        child = { name, path: childPath, kind: isFile ? "file" : "dir", children: [] };
        node.children.push(child);
      }
      node = child;
    });
  }
  sortTree(root);
  return root.children;
}

function sortTree(node: TreeNode): void {
  node.children.sort((a, b) =>
    a.kind === b.kind ? a.name.localeCompare(b.name) : a.kind === "dir" ? -1 : 1,
  );
  node.children.forEach(sortTree);
}

/** Folders containing `path`, outermost first ("src/ui/a.ts" -> ["src", "src/ui"]). */
export function ancestors(path: string): string[] {
  const parts = path.split("/").filter(Boolean);
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join("/"));
}

/** Folders are open unless the user closed them; revealing a file reopens its folders. */
export function reveal(closed: ReadonlySet<string>, path: string): Set<string> {
  const next = new Set(closed);
  for (const dir of ancestors(path)) next.delete(dir);
  return next;
}

export function toggle(closed: ReadonlySet<string>, dir: string): Set<string> {
  const next = new Set(closed);
  if (next.has(dir)) next.delete(dir);
  else next.add(dir);
  return next;
}

/** Rows to render, depth-first, skipping the contents of closed folders. */
export function visibleRows(
  nodes: readonly TreeNode[],
  closed: ReadonlySet<string>,
  depth = 0,
): { node: TreeNode; depth: number }[] {
  const rows: { node: TreeNode; depth: number }[] = [];
  for (const node of nodes) {
    rows.push({ node, depth });
    if (node.kind === "dir" && !closed.has(node.path)) {
      rows.push(...visibleRows(node.children, closed, depth + 1));
    }
  }
  return rows;
}

export function languageOf(path: string): "javascript" | "typescript" | "jsx" | "tsx" | "html" | "css" | "json" | "vue" | "python" | "text" {
  const ext = path.slice(path.lastIndexOf(".") + 1).toLowerCase();
  switch (ext) {
    case "ts":
    case "mts":
    case "cts":
      return "typescript";
    case "tsx":
      return "tsx";
    case "js":
    case "mjs":
    case "cjs":
      return "javascript";
    case "jsx":
      return "jsx";
    case "html":
    case "htm":
      return "html";
    case "css":
      return "css";
    case "json":
      return "json";
    case "vue":
      return "vue";
    case "py":
      return "python";
    default:
      return "text";
  }
}
