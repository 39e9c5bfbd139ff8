/**
 * Module Web Worker running a Python project with Pyodide (served from kiln's own origin
 * under /pyodide/). stdout/stderr go to the terminal; the DOM the program builds through
 * `js.document` is mirrored to the preview page (./python-dom). The npm `pyodide` package
 * holds only the runtime, no package wheels: numpy, pandas, matplotlib, micropip... come
 * from a package URL (a Pyodide package repository: `pyodide-lock.json` and the wheels; the
 * official CDN for this Pyodide by default, `KILN_PYODIDE_PACKAGES_URL` otherwise). Its lock
 * file is fetched only when a run needs a package, so a project without any starts offline.
 */
import { createDomMirror, type DomMirror, type DomOp } from "./python-dom";
import type { Problem } from "./problems";

export type PythonIn =
  | { type: "run"; files: Record<string, string>; main: string; indexURL: string; packagesURL?: string }
  | { type: "exec"; id: number; code: string; indexURL: string; packagesURL?: string }
  | { type: "dom-event"; id: number; event: string; value?: string; checked?: boolean };

/** The original runner's answer to one piece of code. */
export interface ExecResult {
  result: string | null;
  stdout: string;
  error: string | null;
}

export type PythonOut =
  | { type: "stdout" | "stderr"; text: string }
  | ({ type: "result"; id: number } & ExecResult)
  | { type: "problem"; problem: Problem }
  | { type: "dom"; ops: DomOp[] }
  | { type: "status"; phase: string; message?: string };

interface Pyodide {
  FS: { mkdirTree(path: string): void; writeFile(path: string, data: string): void };
  loadPackage(names: string[], options?: { errorCallback?: (m: string) => void; messageCallback?: (m: string) => void }): Promise<unknown>;
  loadPackagesFromImports(code: string, options?: { errorCallback?: (m: string) => void; messageCallback?: (m: string) => void }): Promise<unknown>;
  runPythonAsync(code: string, options?: { filename?: string; globals?: unknown }): Promise<unknown>;
}

const scope = globalThis as unknown as {
  postMessage(m: PythonOut): void;
  onmessage: ((e: MessageEvent<PythonIn>) => void) | null;
  document?: object;
  localStorage?: Storage;
  sessionStorage?: Storage;
};
const post = (m: PythonOut): void => scope.postMessage(m);

/** The official CDN's package repository for this Pyodide version. */
export const cdnPackagesURL = (version: string): string => `https://cdn.jsdelivr.net/pyodide/v${version}/full/`;

/** Top-level modules a piece of Python imports. */
export function importedModules(code: string): string[] {
  const names = new Set<string>();
  for (const m of code.matchAll(/^\s*(?:from\s+([A-Za-z_]\w*)[\w.]*\s+import\b|import\s+([A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*))/gm)) {
    if (m[1]) names.add(m[1]);
    for (const part of (m[2] ?? "").split(",")) {
      const name = part.trim().split(".")[0];
      if (name) names.add(name);
    }
  }
  return [...names];
}

interface Lock {
  packages: Record<string, { imports?: string[] }>;
}
let vendoredImports: Promise<Set<string>> | null = null;
/** Import names of the packages Pyodide knows (from the lock file served with the runtime). */
function knownImports(indexURL: string): Promise<Set<string>> {
  vendoredImports ??= fetch(`${indexURL}pyodide-lock.json`)
    .then((r) => r.json() as Promise<Lock>)
    .then((lock) => new Set(Object.values(lock.packages).flatMap((p) => p.imports ?? [])))
    .catch(() => new Set<string>());
  return vendoredImports;
}

/** Why the package URL gave nothing, when it did not: said with every package failure. */
let unreachable: string | null = null;
let packagesBase = "";
const packagesHelp = (): string =>
  `packages come from ${packagesBase}${unreachable ? `, which cannot be reached (${unreachable})` : ""}; ` +
  "set KILN_PYODIDE_PACKAGES_URL to a Pyodide package repository this browser can reach";

let pending: DomOp[] = [];
function emit(op: DomOp): void {
  if (pending.length === 0) {
    setTimeout(() => {
      post({ type: "dom", ops: pending });
      pending = [];
    }, 0);
  }
  pending.push(op);
}
let mirror: DomMirror = createDomMirror(emit);

interface PyDict {
  set(k: string, v: unknown): void;
}
interface PyodideApi extends Pyodide {
  runPython(code: string): unknown;
  setStdout(o: { batched: (text: string) => void }): void;
  setStderr(o: { batched: (text: string) => void }): void;
  globals: { get(name: string): () => PyDict };
}

/** Pyodide costs seconds to start (measured ~13 s on a 2-core machine), so the worker keeps it.
 * It reads the lock file of a package URL the operator configured (their repository may
 * carry its own packages), and the CDN's only when a run needs a package; otherwise the
 * runtime's own lock, which describes the same CDN's wheels. */
let pyodide: Promise<PyodideApi> | null = null;
function getPyodide(indexURL: string, packagesURL: string | undefined, needsPackages: boolean): Promise<PyodideApi> {
  pyodide ??= (async () => {
    const { loadPyodide, version } = (await import(/* @vite-ignore */ `${indexURL}pyodide.mjs`)) as {
      loadPyodide(o: object): Promise<PyodideApi>;
      version: string;
    };
    packagesBase = packagesURL ? packagesURL.replace(/\/?$/, "/") : cdnPackagesURL(version);
    let lockFileContents: string | undefined;
    if (needsPackages || packagesURL) {
      try {
        const resp = await fetch(`${packagesBase}pyodide-lock.json`, { signal: AbortSignal.timeout(15_000) });
        if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
        lockFileContents = await resp.text();
      } catch (err) {
        unreachable = String((err as Error).message ?? err);
      }
    }
    const py = await loadPyodide({ indexURL, packageBaseUrl: packagesBase, ...(lockFileContents ? { lockFileContents } : {}) });
    py.setStdout({
      batched: (text: string) => {
        if (capture) capture.push(`${text}\n`);
        else post({ type: "stdout", text: `${text}\n` });
      },
    });
    py.setStderr({ batched: (text: string) => post({ type: "stderr", text: `${text}\n` }) });
    py.runPython("import sys\nif '/home/pyodide' not in sys.path: sys.path.insert(0, '/home/pyodide')");
    return py;
  })();
  return pyodide;
}

const FORGET_PROJECT_MODULES = `import sys
for _name in [n for n, m in list(sys.modules.items()) if str(getattr(m, "__file__", "") or "").startswith("/home/pyodide/")]:
    del sys.modules[_name]
`;

/** An in-memory `Storage` (the preview frame gives JavaScript apps the same). */
export function memoryStorage(): Storage {
  const data = new Map<string, string>();
  return {
    getItem: (k: string) => data.get(String(k)) ?? null,
    setItem: (k: string, v: string) => void data.set(String(k), String(v)),
    removeItem: (k: string) => void data.delete(String(k)),
    clear: () => data.clear(),
    key: (i: number) => [...data.keys()][i] ?? null,
    get length() {
      return data.size;
    },
  };
}

/** Last `File "<name>", line N` of a traceback that points into the project. */
export function tracebackLocation(text: string, files: Record<string, string>): { file: string; line: number } | null {
  let hit: { file: string; line: number } | null = null;
  for (const m of text.matchAll(/File "([^"]+)", line (\d+)/g)) {
    const file = (m[1] ?? "").replace(/^\/home\/pyodide\//, "");
    if (file in files) hit = { file, line: Number(m[2]) };
  }
  return hit;
}

function requirementsOf(files: Record<string, string>): string[] {
  return (files["requirements.txt"] ?? "")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
}

async function needsPackages(files: Record<string, string>, indexURL: string): Promise<boolean> {
  if (requirementsOf(files).length) return true;
  const known = await knownImports(indexURL);
  return Object.entries(files).some(([p, code]) => p.endsWith(".py") && importedModules(code).some((m) => known.has(m)));
}

async function run(files: Record<string, string>, main: string, indexURL: string, packagesURL?: string): Promise<void> {
  post({ type: "status", phase: "loading", message: "starting Pyodide" });
  const py = await getPyodide(indexURL, packagesURL, await needsPackages(files, indexURL));
  // A fresh page per run; set only now, as Pyodide takes a global `document` to mean
  // "browser main thread" while it starts.
  mirror = createDomMirror(emit);
  scope.document = mirror.document;
  // A worker has no Web Storage; the page's sandbox has none either, so a run gets an
  // in-memory one, as JavaScript apps in the preview do.
  scope.localStorage = memoryStorage();
  scope.sessionStorage = memoryStorage();
  py.runPython(FORGET_PROJECT_MODULES);
  for (const [path, content] of Object.entries(files)) {
    const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
    if (dir) py.FS.mkdirTree(`/home/pyodide/${dir}`);
    py.FS.writeFile(`/home/pyodide/${path}`, content);
  }
  const failed: string[] = [];
  const errorCallback = (m: string): void => {
    failed.push(m);
  };
  const requirements = requirementsOf(files);
  if (requirements.length) {
    await py.loadPackage(["micropip"], { errorCallback, messageCallback: () => undefined });
    if (failed.length) {
      post({
        type: "problem",
        problem: { source: "runtime", file: "requirements.txt", message: `cannot load micropip to install ${requirements.join(", ")}: ${packagesHelp()}` },
      });
      failed.length = 0;
    } else {
      try {
        await py.runPythonAsync(`import micropip\nawait micropip.install(${JSON.stringify(requirements)})`);
      } catch (err) {
        const last = String((err as Error).message ?? err).trim().split("\n").pop() ?? "";
        post({ type: "problem", problem: { source: "runtime", file: "requirements.txt", message: `micropip could not install ${requirements.join(", ")}: ${last}` } });
      }
    }
  }
  const code = files[main] ?? "";
  await py.loadPackagesFromImports(code, { errorCallback, messageCallback: () => undefined });
  if (failed.length) {
    post({ type: "problem", problem: { source: "runtime", file: main, message: `loadPackage failed: ${packagesHelp()}. ${failed.join(" ")}` } });
  }
  post({ type: "status", phase: "running", message: `python ${main}` });
  try {
    const globals = py.globals.get("dict")();
    globals.set("__name__", "__main__");
    try {
      await py.runPythonAsync(code, { filename: `/home/pyodide/${main}`, globals });
    } finally {
      py.runPython("import sys\nsys.stdout.flush()\nsys.stderr.flush()");
    }
    post({ type: "status", phase: "ready" });
  } catch (err) {
    const text = String((err as Error).message ?? err);
    post({ type: "stderr", text: `${text}\n` });
    const loc = tracebackLocation(text, files);
    const last = text.trim().split("\n").pop() ?? text;
    post({ type: "problem", problem: { source: "runtime", message: last, ...(loc ?? {}) } });
    post({ type: "status", phase: "error", message: last });
  }
}

let execGlobals: PyDict | null = null;
let capture: string[] | null = null;

/** The original runner: one piece of code in a namespace kept across calls, answered as
 * `{result, stdout, error}` (result: the last expression's str(), None as null). */
async function exec(id: number, code: string, indexURL: string, packagesURL?: string): Promise<void> {
  const stdout: string[] = [];
  try {
    const py = await getPyodide(indexURL, packagesURL, await needsPackages({ "main.py": code }, indexURL));
    const failed: string[] = [];
    await py.loadPackagesFromImports(code, { errorCallback: (m) => void failed.push(m), messageCallback: () => undefined });
    if (failed.length) throw new Error(`loadPackage failed: ${packagesHelp()}. ${failed.join(" ")}`);
    execGlobals ??= py.globals.get("dict")();
    capture = stdout;
    let value: unknown;
    try {
      value = await py.runPythonAsync(code, { globals: execGlobals });
    } finally {
      py.runPython("import sys\nsys.stdout.flush()");
      capture = null;
    }
    const result = value === undefined || value === null ? null : String(value);
    (value as { destroy?: () => void } | null)?.destroy?.();
    post({ type: "result", id, result, stdout: stdout.join(""), error: null });
  } catch (err) {
    const text = String((err as Error).message ?? err).trim();
    post({ type: "result", id, result: null, stdout: stdout.join(""), error: text.split("\n").pop() ?? text });
  }
}

scope.onmessage = (e: MessageEvent<PythonIn>) => {
  const msg = e.data;
  if (msg.type === "exec") {
    void exec(msg.id, msg.code, msg.indexURL, msg.packagesURL);
  } else if (msg.type === "run") {
    run(msg.files, msg.main, msg.indexURL, msg.packagesURL).catch((err: unknown) => {
      post({ type: "problem", problem: { source: "runtime", message: `Pyodide failed to start: ${String(err)}` } });
      post({ type: "status", phase: "error", message: String(err) });
    });
  } else if (msg.type === "dom-event") {
    mirror.dispatch(msg.id, msg.event, msg.value, msg.checked);
  }
};
