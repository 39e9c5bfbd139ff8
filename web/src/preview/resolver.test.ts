import { describe, expect, it } from "vitest";
import {
  importMap,
  normalizePath,
  packageName,
  resolveImport,
  type VendorManifest,
} from "./resolver";

const ORIGIN = "http://127.0.0.1:8000";
const vendor: VendorManifest = {
  imports: {
    react: "react.js",
    "react/jsx-runtime": "react-jsx-runtime.js",
    "react-dom/client": "react-dom-client.js",
    vue: "vue.js",
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
  return resolveImport(spec, importer, files, vendor, ORIGIN);
}

describe("bare imports", () => {
  it("resolve to the vendor file on kiln's origin", () => {
    expect(resolve("react")).toEqual({
      kind: "vendor",
      specifier: "react",
      url: "http://127.0.0.1:8000/vendor/react.js",
    });
  });

  it("resolve subpath exports listed in the manifest", () => {
    expect(resolve("react-dom/client")).toMatchObject({
      kind: "vendor",
      url: "http://127.0.0.1:8000/vendor/react-dom-client.js",
    });
  });

  it("name an unknown package plainly", () => {
    const r = resolve("lodash/debounce");
    expect(r.kind).toBe("missing");
    expect(r.kind === "missing" && r.message).toContain(
      "package lodash is not available in the in-browser preview",
    );
  });

  it("keep the scope in an unknown scoped package's name", () => {
    const r = resolve("@tanstack/react-query");
    expect(r.kind === "missing" && r.message).toContain("package @tanstack/react-query is not");
  });

  it("say that a missing subpath of a served package is not served", () => {
    const r = resolve("react-dom/server");
    expect(r.kind === "missing" && r.message).toContain('"react-dom/server" is not available');
  });

  it("say that Node modules do not exist in the browser", () => {
    const r = resolve("node:fs");
    expect(r.kind === "missing" && r.message).toContain("Node.js module");
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

  it("importMap uses absolute URLs on the given origin", () => {
    expect(importMap(vendor, `${ORIGIN}/`).imports.vue).toBe("http://127.0.0.1:8000/vendor/vue.js");
  });
});
