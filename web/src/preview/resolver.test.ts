import { describe, expect, it } from "vitest";
import {
  mappedUrl,
  normalizePath,
  packageName,
  resolveImport,
  type ImportMap,
} from "./resolver";

const PKG = "http://127.0.0.1:8000/pkg";
const map: ImportMap = {
  imports: {
    react: `${PKG}/react@19.1.0`,
    "react/": `${PKG}/react@19.1.0/`,
    "react-dom": `${PKG}/react-dom@19.1.0`,
    "react-dom/": `${PKG}/react-dom@19.1.0/`,
    "date-fns": `${PKG}/date-fns@4.1.0`,
    "date-fns/": `${PKG}/date-fns@4.1.0/`,
    "@tanstack/react-query": `${PKG}/@tanstack/react-query@5.0.0`,
    buffer: `${PKG}/buffer@6.0.3`,
  },
};
const files = new Set([
  "index.html",
  "src/main.tsx",
  "src/App.tsx",
  "src/App.vue",
  "src/util.ts",
  "src/components/Button.jsx",
  "src/components/index.ts",
  "src/lib/index.js",
  "src/styles/app.css",
  "main.js",
]);

function resolve(spec: string, importer = "src/main.tsx") {
  return resolveImport(spec, importer, files, map);
}

describe("bare imports", () => {
  it("resolve to the package service through the version's import map", () => {
    expect(resolve("react")).toEqual({ kind: "package", specifier: "react", url: `${PKG}/react@19.1.0` });
  });

  it("resolve subpaths through the package's prefix entry", () => {
    expect(resolve("react-dom/client")).toMatchObject({ kind: "package", url: `${PKG}/react-dom@19.1.0/client` });
    expect(resolve("date-fns/format")).toMatchObject({ url: `${PKG}/date-fns@4.1.0/format` });
  });

  it("resolve CSS shipped in a package", () => {
    expect(resolve("react-dom/dist/x.css")).toMatchObject({ url: `${PKG}/react-dom@19.1.0/dist/x.css` });
  });

  it("keep the scope of a scoped package", () => {
    expect(resolve("@tanstack/react-query")).toMatchObject({ kind: "package" });
  });

  it("name a package that package.json does not declare", () => {
    const r = resolve("lodash/debounce");
    expect(r.kind === "missing" && r.message).toContain("package lodash is imported but not in package.json");
  });

  it("say that a subpath the package has no prefix entry for is not one of its exports", () => {
    const r = resolve("@tanstack/react-query/devtools");
    expect(r.kind === "missing" && r.message).toContain("is not a file or export of the package @tanstack/react-query");
  });

  it("say that Node built-ins do not exist in the browser", () => {
    const r = resolve("node:fs");
    expect(r.kind === "missing" && r.message).toContain("Node.js built-in");
    const fs = resolve("fs");
    expect(fs.kind === "missing" && fs.message).toContain('"fs" is a Node.js built-in');
  });

  it("prefer a declared npm polyfill over the built-in of the same name", () => {
    expect(resolve("buffer")).toMatchObject({ kind: "package", url: `${PKG}/buffer@6.0.3` });
  });
});

describe("relative imports", () => {
  it("find a .tsx file without its extension", () => {
    expect(resolve("./App")).toEqual({ kind: "file", path: "src/App.tsx" });
  });

  it("find a .ts file without its extension", () => {
    expect(resolve("./util")).toEqual({ kind: "file", path: "src/util.ts" });
  });

  it("find a .ts file imported with a .js extension", () => {
    expect(resolve("./util.js")).toEqual({ kind: "file", path: "src/util.ts" });
  });

  it("find a .jsx file without its extension", () => {
    expect(resolve("./components/Button")).toEqual({
      kind: "file",
      path: "src/components/Button.jsx",
    });
  });

  it("keep an explicit .vue extension", () => {
    expect(resolve("./App.vue", "src/main.ts")).toEqual({ kind: "file", path: "src/App.vue" });
  });

  it("find a folder's index.ts", () => {
    expect(resolve("./components")).toEqual({ kind: "file", path: "src/components/index.ts" });
  });

  it("find a folder's index.js", () => {
    expect(resolve("../lib", "src/components/Button.jsx")).toEqual({
      kind: "file",
      path: "src/lib/index.js",
    });
  });

  it("go up with ..", () => {
    expect(resolve("../styles/app.css", "src/components/Button.jsx")).toEqual({
      kind: "file",
      path: "src/styles/app.css",
    });
  });

  it("resolve root paths from the project root", () => {
    expect(resolve("/src/main.tsx", "index.html")).toEqual({ kind: "file", path: "src/main.tsx" });
  });

  it("resolve the @/ alias to src/", () => {
    expect(resolve("@/util", "src/components/Button.jsx")).toEqual({
      kind: "file",
      path: "src/util.ts",
    });
  });

  it("ignore a query suffix", () => {
    expect(resolve("./styles/app.css?inline")).toEqual({ kind: "file", path: "src/styles/app.css" });
  });

  it("report a missing file with its importer", () => {
    const r = resolve("./Nope");
    expect(r.kind === "missing" && r.message).toBe(
      'cannot find "./Nope" (imported from src/main.tsx) in the project',
    );
  });

  it("refuse a path that leaves the project", () => {
    expect(resolve("../../etc/passwd").kind).toBe("missing");
  });
});

describe("helpers", () => {
  it("normalizePath folds . and ..", () => {
    expect(normalizePath("/src/./a/../b.ts")).toBe("src/b.ts");
  });

  it("packageName keeps scopes", () => {
    expect(packageName("@vue/shared/dist/x")).toBe("@vue/shared");
    expect(packageName("react/jsx-runtime")).toBe("react");
  });

  it("mappedUrl prefers the longest prefix", () => {
    const m: ImportMap = { imports: { "a/": "/x/", "a/b/": "/y/" } };
    expect(mappedUrl("a/b/c.js", m)).toBe("/y/c.js");
    expect(mappedUrl("a/c.js", m)).toBe("/x/c.js");
    expect(mappedUrl("ab", m)).toBeNull();
  });
});
