import { describe, expect, it } from "vitest";
import { ancestors, buildTree, languageOf, reveal, toggle, visibleRows } from "./tree";
import { diffFiles, hasChanges, preferredFile } from "./files";

describe("file tree", () => {
  it("puts folders before files and sorts each by name", () => {
    const tree = buildTree(["src/main.ts", "index.html", "src/App.tsx", "package.json", "src/ui/x.ts"]);
    expect(tree.map((n) => n.name)).toEqual(["src", "index.html", "package.json"]);
    expect(tree[0]!.children.map((n) => n.name)).toEqual(["ui", "App.tsx", "main.ts"]);
  });

  it("gives every node its full path", () => {
    const tree = buildTree(["src/ui/x.ts"]);
    expect(tree[0]!.children[0]!.children[0]!.path).toBe("src/ui/x.ts");
  });

  it("lists the folders above a path, outermost first", () => {
    expect(ancestors("src/ui/x.ts")).toEqual(["src", "src/ui"]);
    expect(ancestors("index.html")).toEqual([]);
  });

  it("hides the contents of a closed folder", () => {
    const tree = buildTree(["src/a.ts", "b.ts"]);
    const rows = visibleRows(tree, new Set(["src"]));
    expect(rows.map((r) => r.node.path)).toEqual(["src", "b.ts"]);
  });

  it("shows nested rows with their depth", () => {
    const rows = visibleRows(buildTree(["src/ui/x.ts"]), new Set());
    expect(rows.map((r) => [r.node.path, r.depth])).toEqual([["src", 0], ["src/ui", 1], ["src/ui/x.ts", 2]]);
  });

  it("revealing a file opens the folders that contain it", () => {
    expect([...reveal(new Set(["src", "src/ui", "other"]), "src/ui/x.ts")]).toEqual(["other"]);
  });

  it("toggle closes an open folder and opens a closed one", () => {
    expect(toggle(new Set(), "src").has("src")).toBe(true);
    expect(toggle(new Set(["src"]), "src").has("src")).toBe(false);
  });

  it("picks an editor language from the extension", () => {
    expect(languageOf("a/App.tsx")).toBe("tsx");
    expect(languageOf("main.py")).toBe("python");
    expect(languageOf("App.vue")).toBe("vue");
    expect(languageOf("README")).toBe("text");
  });
});

describe("changes against the saved version", () => {
  it("lists changed and new files and deleted paths", () => {
    const changes = diffFiles({ a: "1", b: "2", c: "3" }, { a: "1", b: "20", d: "4" });
    expect(changes).toEqual({ files: { b: "20", d: "4" }, deleted: ["c"] });
    expect(hasChanges(changes)).toBe(true);
  });

  it("finds no changes in identical files", () => {
    expect(hasChanges(diffFiles({ a: "1" }, { a: "1" }))).toBe(false);
  });

  it("opens the app's entry component first", () => {
    expect(preferredFile(["index.html", "src/App.tsx", "package.json"])).toBe("src/App.tsx");
    expect(preferredFile(["z.txt", "a.txt"])).toBe("a.txt");
  });
});
