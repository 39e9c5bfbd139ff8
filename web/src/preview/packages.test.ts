import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { absoluteImportMap, createPackageResolver, dependencyKey, dependencySet, moduleClosure, onlyImportedExports, packageProblem, type DependencySet, type ResolvedPackages } from "./packages";
import { BuildError } from "./problems";

const ORIGIN = "http://127.0.0.1:8000";

function project(deps: Record<string, string>, extra: Record<string, unknown> = {}): Map<string, string> {
  return new Map([
    ["package.json", JSON.stringify({ name: "app", dependencies: deps, devDependencies: { vite: "^6" }, ...extra })],
    ["src/main.tsx", "import React from 'react'"],
  ]);
}

function answer(set: DependencySet): ResolvedPackages {
  const imports: Record<string, string> = {};
  for (const name of Object.keys(set.dependencies)) {
    imports[name] = `/pkg/${name}@1.0.0`;
    imports[`${name}/`] = `/pkg/${name}@1.0.0/`;
  }
  return { packages: {}, importmap: { imports } };
}

function counting(): { calls: DependencySet[]; resolve: (s: DependencySet) => Promise<ResolvedPackages> } {
  const calls: DependencySet[] = [];
  return { calls, resolve: async (s) => (calls.push(s), answer(s)) };
}

describe("the import map of a version", () => {
  it("is asked of the package service with package.json's dependency sections", async () => {
    const svc = counting();
    await createPackageResolver(svc.resolve, ORIGIN)(project({ react: "^19.0.0" }));
    expect(svc.calls).toEqual([{ dependencies: { react: "^19.0.0" }, devDependencies: { vite: "^6" } }]);
  });

  it("points at /pkg on kiln's origin, since the sandboxed frame's origin is null", async () => {
    const map = await createPackageResolver(counting().resolve, ORIGIN)(project({ react: "^19.0.0" }));
    expect(map.imports["react"]).toBe(`${ORIGIN}/pkg/react@1.0.0`);
    expect(map.imports["react/"]).toBe(`${ORIGIN}/pkg/react@1.0.0/`);
  });

  it("is resolved once per dependency set, however often the code changes", async () => {
    const svc = counting();
    const resolve = createPackageResolver(svc.resolve, ORIGIN);
    const files = project({ react: "^19.0.0", clsx: "^2" });
    await resolve(files);
    files.set("src/main.tsx", "import clsx from 'clsx'");
    await resolve(files);
    await resolve(project({ clsx: "^2", react: "^19.0.0" }, { scripts: { dev: "vite" } }));
    expect(svc.calls).toHaveLength(1);
  });

  it("is resolved again when a dependency changes", async () => {
    const svc = counting();
    const resolve = createPackageResolver(svc.resolve, ORIGIN);
    await resolve(project({ react: "^19.0.0" }));
    const map = await resolve(project({ react: "^19.0.0", "lucide-react": "^0.4" }));
    expect(svc.calls).toHaveLength(2);
    expect(map.imports["lucide-react"]).toBe(`${ORIGIN}/pkg/lucide-react@1.0.0`);
  });

  it("shares one request between rebuilds that overlap", async () => {
    const svc = counting();
    const resolve = createPackageResolver(svc.resolve, ORIGIN);
    await Promise.all([resolve(project({ vue: "^3" })), resolve(project({ vue: "^3" }))]);
    expect(svc.calls).toHaveLength(1);
  });

  it("forgets a failed answer, so the next rebuild retries", async () => {
    let fail = true;
    const calls: DependencySet[] = [];
    const resolve = createPackageResolver(async (s) => {
      calls.push(s);
      if (fail) throw Object.assign(new Error("the npm registry did not answer"), { code: "registry_unavailable" });
      return answer(s);
    }, ORIGIN);
    await expect(resolve(project({ react: "^19" }))).rejects.toBeInstanceOf(BuildError);
    fail = false;
    await expect(resolve(project({ react: "^19" }))).resolves.toMatchObject({ imports: { react: `${ORIGIN}/pkg/react@1.0.0` } });
    expect(calls).toHaveLength(2);
  });

  it("turns a service error into a problem that names it and says what to do", async () => {
    const resolve = createPackageResolver(async () => {
      throw Object.assign(new Error("package left-padz not found in the registry"), { code: "package_not_found" });
    }, ORIGIN);
    const err = await resolve(project({ "left-padz": "^1" })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BuildError);
    const [p] = (err as BuildError).problems;
    expect(p).toMatchObject({ source: "build", file: "package.json", code: "package_not_found" });
    expect(p?.message).toContain("left-padz");
    expect(p?.message).toContain("check the name and version");
  });
});

describe("package.json", () => {
  it("without dependencies resolves to empty sections", () => {
    expect(dependencySet(undefined)).toEqual({ dependencies: {}, devDependencies: {} });
    expect(dependencySet('{"dependencies": null}')).toEqual({ dependencies: {}, devDependencies: {} });
  });

  it("that is not JSON is a build problem on package.json", () => {
    expect(() => dependencySet("{ nope")).toThrow(BuildError);
  });

  it("gives the same key whatever the order of its entries", () => {
    expect(dependencyKey({ dependencies: { a: "1", b: "2" }, devDependencies: {} })).toBe(
      dependencyKey({ dependencies: { b: "2", a: "1" }, devDependencies: {} }),
    );
  });
});

describe("service answers", () => {
  it("keep absolute URLs as they are and make scopes absolute too", () => {
    const map = absoluteImportMap({ imports: { a: "https://cdn/x" }, scopes: { "/pkg/b@1/": { react: "/pkg/react@18/" } } }, ORIGIN);
    expect(map.imports["a"]).toBe("https://cdn/x");
    expect(map.scopes).toEqual({ [`${ORIGIN}/pkg/b@1/`]: { react: `${ORIGIN}/pkg/react@18/` } });
  });

  it("without a known code keep their message", () => {
    expect(packageProblem(new Error("boom")).message).toBe("boom");
  });
});

describe("resolved import maps kept in the page's storage", () => {
  function memoryStore(): { data: Map<string, string>; getItem(k: string): string | null; setItem(k: string, v: string): void } {
    const data = new Map<string, string>();
    return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
  }

  it("serve a reloaded page without asking the package service", async () => {
    const store = memoryStore();
    const first = counting();
    await createPackageResolver(first.resolve, ORIGIN, store)(project({ react: "^19" }));
    const second = counting();
    const map = await createPackageResolver(second.resolve, ORIGIN, store)(project({ react: "^19" }));
    expect(first.calls).toHaveLength(1);
    expect(second.calls).toHaveLength(0);
    expect(map.imports["react"]).toBe(`${ORIGIN}/pkg/react@1.0.0`);
  });

  it("do not answer for other dependencies", async () => {
    const store = memoryStore();
    await createPackageResolver(counting().resolve, ORIGIN, store)(project({ react: "^19" }));
    const svc = counting();
    await createPackageResolver(svc.resolve, ORIGIN, store)(project({ react: "^19", zod: "^3" }));
    expect(svc.calls).toHaveLength(1);
  });

  it("are not written for a failed answer", async () => {
    const store = memoryStore();
    const resolve = createPackageResolver(async () => Promise.reject(Object.assign(new Error("x"), { code: "package_not_found" })), ORIGIN, store);
    await expect(resolve(project({ nope: "^1" }))).rejects.toBeInstanceOf(BuildError);
    expect(store.data.size).toBe(0);
  });
});

describe("package-lock.json", () => {
  const lock = (rootDeps: Record<string, string>) =>
    JSON.stringify({
      lockfileVersion: 3,
      packages: {
        "": { dependencies: rootDeps },
        "node_modules/react": { version: "19.1.1" },
        "node_modules/clsx": { version: "2.1.1" },
      },
    });

  it("pins the preview to the versions the build and deploys install", async () => {
    const svc = counting();
    const files = project({ react: "^19.0.0", clsx: "^2" });
    files.set("package-lock.json", lock({ react: "^19.0.0", clsx: "^2" }));
    await createPackageResolver(svc.resolve, ORIGIN)(files);
    expect(svc.calls[0]?.dependencies).toEqual({ react: "19.1.1", clsx: "2.1.1" });
  });

  it("does not pin a range that changed since the lockfile was written", async () => {
    const svc = counting();
    const files = project({ react: "^19.0.0", clsx: "^1" });
    files.set("package-lock.json", lock({ react: "^19.0.0", clsx: "^2" }));
    await createPackageResolver(svc.resolve, ORIGIN)(files);
    expect(svc.calls[0]?.dependencies).toEqual({ react: "19.1.1", clsx: "^1" });
  });

  it("that is not JSON is ignored", async () => {
    const svc = counting();
    const files = project({ react: "^19.0.0" });
    files.set("package-lock.json", "{ nope");
    await createPackageResolver(svc.resolve, ORIGIN)(files);
    expect(svc.calls[0]?.dependencies).toEqual({ react: "^19.0.0" });
  });
});

describe("the module graph the service knows", () => {
  it("gives the whole graph under some URLs, each once, however deep or circular", () => {
    const modules = { a: ["b", "c"], b: ["d"], c: ["d", "a"], d: [] };
    expect(moduleClosure(["a"], modules)).toEqual(["a", "b", "c", "d"]);
    expect(moduleClosure(["x"], modules)).toEqual(["x"]);
  });

  it("is kept from the resolve answer, on kiln's origin, for the files' dependency set", async () => {
    const modules = { "/pkg/recharts@2.15.4": ["/pkg/lodash@4.17.21/get"], "/pkg/lodash@4.17.21/get": [] };
    const resolve = createPackageResolver(async (s) => ({ ...answer(s), modules }), ORIGIN);
    const files = project({ recharts: "^2.15.0" });
    await resolve(files);
    expect(resolve.graphOf(files, [`${ORIGIN}/pkg/recharts@2.15.4`])).toEqual([
      `${ORIGIN}/pkg/recharts@2.15.4`,
      `${ORIGIN}/pkg/lodash@4.17.21/get`,
    ]);
    expect(resolve.graphOf(project({ other: "^1" }), [`${ORIGIN}/pkg/x@1.0.0`])).toEqual([`${ORIGIN}/pkg/x@1.0.0`]);
  });
});

describe("packages only the app imports", () => {
  const BASES = new Map([
    ["icons", `${ORIGIN}/pkg/icons@1.0.0`],
    ["charts", `${ORIGIN}/pkg/charts@2.0.0/-/with/${"a".repeat(40)}`],
  ]);
  const only = (names: string[]): Map<string, string> => new Map([...BASES].filter(([n]) => names.includes(n)));
  /** The app bundled as the preview's bundler does: packages left as bare imports. */
  async function bundled(files: Record<string, string>): Promise<string> {
    const out = await build({
      entryPoints: ["main.js"],
      bundle: true,
      write: false,
      format: "esm",
      logLevel: "silent",
      plugins: [
        {
          name: "memory",
          setup(b) {
            b.onResolve({ filter: /^\.\/|^main/ }, (a) => ({ path: a.path.replace(/^\.\//, ""), namespace: "m" }));
            b.onResolve({ filter: /.*/ }, (a) => ({ path: a.path, external: true }));
            b.onLoad({ filter: /.*/, namespace: "m" }, (a) => ({ contents: files[a.path] ?? "", loader: "js" }));
          },
        },
      ],
    });
    return out.outputFiles[0]?.text ?? "";
  }

  it("are asked for with just the exports the app imports, sorted, from all its modules", async () => {
    const js = await bundled({
      "main.js": 'import Icons, { Star } from "icons"; import { Zap as Z } from "icons"; import "./b.js"; console.log(Icons, Star, Z)',
      "b.js": 'import { Bar, Axis } from "charts"; console.log(Bar, Axis)',
    });
    const { js: out, urls } = onlyImportedExports(js, BASES);
    const charts = `${ORIGIN}/pkg/charts@2.0.0/-/with/${"a".repeat(40)}/-/only/Axis,Bar`;
    expect(urls.get("icons")).toBe(`${ORIGIN}/pkg/icons@1.0.0/-/only/Star,Zap,default`);
    expect(urls.get("charts")).toBe(charts);
    expect(out).not.toMatch(/from\s*"(icons|charts)"/);
    expect(out).toContain(`from "${charts}"`);
  });

  it("are whole where another package imports them too", async () => {
    const js = await bundled({ "main.js": 'import { Star } from "icons"; console.log(Star)' });
    const { js: out, urls } = onlyImportedExports(js, only(["charts"]));
    expect(urls.size).toBe(0);
    expect(out).toBe(js);
  });

  it("are whole where the app imports them as a namespace, dynamically, for side effects or by a subpath", async () => {
    for (const use of ['import * as I from "icons"; console.log(I)', 'import("icons")', 'import "icons"', 'import { Sun } from "icons/sun"; console.log(Sun)']) {
      const js = await bundled({ "main.js": `import { Star } from "icons"; console.log(Star); ${use}` });
      const { js: out, urls } = onlyImportedExports(js, only(["icons"]));
      expect(urls.size, use).toBe(0);
      expect(out).toBe(js);
    }
  });

  it("are whole where the app names the package in a string of its own", async () => {
    const js = await bundled({ "main.js": 'import { Star } from "icons"; console.log(Star, "icons")' });
    expect(onlyImportedExports(js, only(["icons"])).urls.size).toBe(0);
  });

  it("are remembered with the import map for a reloaded page", async () => {
    const data = new Map<string, string>();
    const store = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    const files = project({ icons: "^1" });
    await createPackageResolver(async (s) => ({ ...answer(s), app_only: { icons: "/pkg/icons@1.0.0" } }), ORIGIN, store)(files);
    const again = createPackageResolver(async () => Promise.reject(new Error("not asked")), ORIGIN, store);
    await again(files);
    expect([...again.appOnly(files)]).toEqual([["icons", `${ORIGIN}/pkg/icons@1.0.0`]]);
  });
});
