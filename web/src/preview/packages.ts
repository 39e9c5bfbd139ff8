/**
 * The version's packages for the fallback preview: the project's package.json dependency
 * ranges, resolved once by kiln's package service (POST /api/packages/resolve) into exact
 * versions and an import map onto /pkg/name@version/... . A rebuild that leaves the
 * dependencies alone reuses the same answer, also after a reload (kept in the page's
 * storage), so a warm preview asks nobody; a failed answer is forgotten, so the next
 * rebuild (or Retry) asks again.
 */
import { BuildError, type Problem } from "./problems";
import type { ImportMap } from "./resolver";

export interface DependencySet {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
}

export interface ResolvedPackages {
  packages: Record<string, string>;
  importmap: ImportMap;
  /** Modules the service has built: URL -> the module URLs it imports. */
  modules?: Record<string, string[]>;
  /** Package only the app imports -> where it may load just the exports it uses. */
  app_only?: Record<string, string>;
}

/** A version's import map, and how to find the whole module graph under some of its URLs. */
export interface PackageResolver {
  (files: ReadonlyMap<string, string>): Promise<ImportMap>;
  /** `urls` and every module they import, as far as the service knows (after the map). */
  graphOf(files: ReadonlyMap<string, string>, urls: string[]): string[];
  /** Packages only the app imports -> their base URL (after the map), see onlyImportedExports. */
  appOnly(files: ReadonlyMap<string, string>): ReadonlyMap<string, string>;
}

const IDENT = /^[A-Za-z_$][\w$]*$/;
/** esbuild's static imports of an external package: `import d, { a, b as c } from "x";`. */
const STATIC_IMPORT = /^import\s+(?:([A-Za-z_$][\w$]*)\s*(?:,\s*)?)?(?:\{([^}]*)\}\s*)?from\s*"([^"\\]+)";$/gm;

/**
 * The bundle with each package only the app imports asked for with just the exports it
 * uses (<base>/-/only/a,b: the service drops the rest, an icon set's thousands of icons,
 * say, and bundles the package's private dependencies into it). Only where every mention of
 * the package is a static named or default import of its entry, so no other copy of it or
 * of what it bundles is ever loaded (a namespace, dynamic or subpath import keeps the whole
 * module). `appOnly`: package -> base URL; `urls` maps the rewritten specifiers to theirs.
 */
export function onlyImportedExports(js: string, appOnly: ReadonlyMap<string, string>): { js: string; urls: Map<string, string> } {
  const names = new Map<string, Set<string> | null>();
  const statements = new Map<string, number>();
  for (const m of js.matchAll(STATIC_IMPORT)) {
    const [, def, list, spec = ""] = m;
    if (!appOnly.has(spec)) continue;
    statements.set(spec, (statements.get(spec) ?? 0) + 1);
    let wanted = names.get(spec);
    if (wanted === null) continue;
    wanted ??= new Set();
    names.set(spec, wanted);
    if (def) wanted.add("default");
    for (const part of (list ?? "").split(",")) {
      const name = part.trim().split(/\s+as\s+/)[0] ?? "";
      if (!name) continue;
      if (IDENT.test(name)) wanted.add(name);
      else names.set(spec, null);
    }
  }
  const urls = new Map<string, string>();
  for (const [spec, wanted] of names) {
    const base = appOnly.get(spec);
    const mentions = js.split(JSON.stringify(spec)).length - 1;
    if (!wanted || wanted.size === 0 || !base || mentions !== statements.get(spec) || js.includes(`"${spec}/`)) continue;
    urls.set(spec, `${base}/-/only/${[...wanted].sort().join(",")}`);
  }
  if (urls.size === 0) return { js, urls };
  const out = js.replace(STATIC_IMPORT, (stmt: string, _d: string, _l: string, spec: string) => {
    const url = urls.get(spec);
    return url ? stmt.slice(0, stmt.lastIndexOf('"' + spec + '"')) + JSON.stringify(url) + ";" : stmt;
  });
  return { js: out, urls };
}

/** `urls` and, through `modules`, everything they import, each once (breadth first). */
export function moduleClosure(urls: string[], modules: Record<string, string[]>): string[] {
  const seen = new Set(urls);
  const queue = [...urls];
  for (let url = queue.shift(); url !== undefined; url = queue.shift()) {
    for (const next of modules[url] ?? []) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return [...seen];
}

/** Calls the package service; rejects with something carrying `code` and `message`. */
export type ResolveFn = (deps: DependencySet) => Promise<ResolvedPackages>;

/** Package-service error codes, and what a person can do about each. */
export const PACKAGE_ADVICE: Record<string, string> = {
  package_not_found: "check the name and version in package.json",
  package_spec_refused: "use a version range from the npm registry",
  registry_unavailable: "the npm registry did not answer; Retry in a moment",
  package_needs_node: "it needs Node.js built-ins and cannot run in a browser; choose a browser package",
  package_too_large: "it is over the preview's size limit; choose a smaller package or a subpath import",
};

function ranges(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

/**
 * The exact versions package-lock.json holds for the ranges package.json still asks for, so
 * the preview runs what the build gate, WebContainers and deploys install (a range changed
 * since the lockfile was written keeps its range).
 */
export function pinnedByLockfile(set: DependencySet, lockJson: string | undefined): DependencySet {
  if (lockJson === undefined) return set;
  let lock: { packages?: Record<string, { version?: unknown; dependencies?: unknown; devDependencies?: unknown }> };
  try {
    lock = JSON.parse(lockJson) as typeof lock;
  } catch {
    return set;
  }
  const packages = lock.packages ?? {};
  const root = packages[""] ?? {};
  const pin = (wanted: Record<string, string>, locked: Record<string, string>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(wanted).map(([name, range]) => {
        const version = packages[`node_modules/${name}`]?.version;
        return [name, locked[name] === range && typeof version === "string" ? version : range];
      }),
    );
  return {
    dependencies: pin(set.dependencies, ranges(root.dependencies)),
    devDependencies: pin(set.devDependencies, ranges(root.devDependencies)),
  };
}

/** The dependency sections of package.json (none when there is no package.json). */
export function dependencySet(packageJson: string | undefined): DependencySet {
  if (packageJson === undefined) return { dependencies: {}, devDependencies: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(packageJson);
  } catch (err) {
    throw new BuildError([{ source: "build", file: "package.json", message: `package.json is not valid JSON: ${(err as Error).message}` }]);
  }
  const pj = (parsed ?? {}) as Record<string, unknown>;
  return { dependencies: ranges(pj["dependencies"]), devDependencies: ranges(pj["devDependencies"]) };
}

/** The same dependencies give the same key, whatever their order in the file. */
export function dependencyKey(set: DependencySet): string {
  const sorted = (r: Record<string, string>): [string, string][] => Object.entries(r).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([sorted(set.dependencies), sorted(set.devDependencies)]);
}

/** Service URLs are root-relative; the sandboxed frame's origin is "null", so make them absolute. */
export function absoluteImportMap(map: ImportMap, origin: string): ImportMap {
  const base = origin.replace(/\/$/, "");
  const abs = (u: string): string => (u.startsWith("/") && !u.startsWith("//") ? base + u : u);
  const fix = (r: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, abs(v)]));
  const out: ImportMap = { imports: fix(map.imports) };
  if (map.scopes) out.scopes = Object.fromEntries(Object.entries(map.scopes).map(([k, v]) => [abs(k), fix(v)]));
  return out;
}

/** An error from the package service as a problem a person can act on. */
export function packageProblem(err: unknown): Problem {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e?.code === "string" ? e.code : "";
  const message = typeof e?.message === "string" ? e.message : String(err);
  const advice = PACKAGE_ADVICE[code];
  const p: Problem = { source: "build", file: "package.json", message: advice ? `${message} (${advice})` : message };
  if (code) p.code = code;
  return p;
}

/** Where resolved import maps outlive the page (localStorage in the app). */
export interface MapStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

const STORE_KEY = "kiln.packages.3";
const STORE_LIMIT = 30;

interface Kept {
  importmap: ImportMap;
  appOnly: Record<string, string>;
}

function remembered(store: MapStore | null, key: string): Kept | null {
  try {
    const all = JSON.parse(store?.getItem(STORE_KEY) ?? "{}") as Record<string, Kept>;
    return all[key] ?? null;
  } catch {
    return null;
  }
}

function remember(store: MapStore | null, key: string, kept: Kept): void {
  if (!store) return;
  try {
    const all = JSON.parse(store.getItem(STORE_KEY) ?? "{}") as Record<string, Kept>;
    delete all[key];
    all[key] = kept;
    const keys = Object.keys(all);
    for (const old of keys.slice(0, Math.max(0, keys.length - STORE_LIMIT))) delete all[old];
    store.setItem(STORE_KEY, JSON.stringify(all));
  } catch {
    // storage full or unavailable: the in-memory memo still serves this page
  }
}

/** Memoised per dependency set (in memory and in `store`): the import map for a project's files. */
export function createPackageResolver(resolve: ResolveFn, origin: string, store: MapStore | null = null): PackageResolver {
  const memo = new Map<string, Promise<ImportMap>>();
  const graphs = new Map<string, Record<string, string[]>>();
  const appOnly = new Map<string, ReadonlyMap<string, string>>();
  const absolute = (bases: Record<string, string>): ReadonlyMap<string, string> =>
    new Map(Object.entries(bases).map(([name, url]) => [name, url.startsWith("/") && !url.startsWith("//") ? origin.replace(/\/$/, "") + url : url]));
  const keyOf = (files: ReadonlyMap<string, string>): string =>
    dependencyKey(pinnedByLockfile(dependencySet(files.get("package.json")), files.get("package-lock.json")));
  const resolver = (files: ReadonlyMap<string, string>): Promise<ImportMap> => {
    const set = pinnedByLockfile(dependencySet(files.get("package.json")), files.get("package-lock.json"));
    const key = dependencyKey(set);
    let answer = memo.get(key);
    const kept = answer ? null : remembered(store, key);
    if (kept) {
      appOnly.set(key, absolute(kept.appOnly));
      answer = Promise.resolve(absoluteImportMap(kept.importmap, origin));
      memo.set(key, answer);
    }
    if (!answer) {
      answer = resolve(set).then(
        (r) => {
          remember(store, key, { importmap: r.importmap, appOnly: r.app_only ?? {} });
          appOnly.set(key, absolute(r.app_only ?? {}));
          graphs.set(key, absoluteGraph(r.modules ?? {}, origin));
          return absoluteImportMap(r.importmap, origin);
        },
        (err: unknown) => {
          memo.delete(key);
          throw new BuildError([packageProblem(err)]);
        },
      );
      memo.set(key, answer);
    }
    return answer;
  };
  resolver.graphOf = (files: ReadonlyMap<string, string>, urls: string[]): string[] => moduleClosure(urls, graphs.get(keyOf(files)) ?? {});
  resolver.appOnly = (files: ReadonlyMap<string, string>): ReadonlyMap<string, string> => appOnly.get(keyOf(files)) ?? new Map();
  return resolver;
}

function absoluteGraph(modules: Record<string, string[]>, origin: string): Record<string, string[]> {
  const base = origin.replace(/\/$/, "");
  const abs = (u: string): string => (u.startsWith("/") && !u.startsWith("//") ? base + u : u);
  return Object.fromEntries(Object.entries(modules).map(([k, v]) => [abs(k), v.map(abs)]));
}
