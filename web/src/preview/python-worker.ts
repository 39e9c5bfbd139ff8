/**
 * Module Web Worker running a Python project with Pyodide (served from kiln's own origin
 * under /pyodide/). stdout/stderr go to the terminal; the DOM the program builds through
 * `js.document` is mirrored to the preview page (./python-dom). The npm `pyodide` package
 * holds only the runtime, no package wheels, so `loadPackage` failures become problems
 * that say exactly that.
 */
import { createDomMirror, type DomMirror, type DomOp } from "./python-dom";
import type { Problem } from "./problems";

export type PythonIn =
  | { type: "run"; files: Record<string, string>; main: string; indexURL: string }
  | { type: "dom-event"; id: number; event: string; value?: string; checked?: boolean };

export type PythonOut =
  | { type: "stdout" | "stderr"; text: string }
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

const NO_WHEELS =
  "the in-browser preview serves only the Pyodide runtime from the npm package, which has no package wheels";

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

/** Pyodide costs seconds to start (measured ~13 s on a 2-core machine), so the worker keeps it. */
let pyodide: Promise<PyodideApi> | null = null;
function getPyodide(indexURL: string): Promise<PyodideApi> {
  pyodide ??= (async () => {
    const { loadPyodide } = (await import(/* @vite-ignore */ `${indexURL}pyodide.mjs`)) as {
      loadPyodide(o: object): Promise<PyodideApi>;
    };
    const py = await loadPyodide({ indexURL });
    py.setStdout({ batched: (text: string) => post({ type: "stdout", text: `${text}\n` }) });
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

async function run(files: Record<string, string>, main: string, indexURL: string): Promise<void> {
  post({ type: "status", phase: "loading", message: "starting Pyodide" });
  const py = await getPyodide(indexURL);
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
  const requirements = (files["requirements.txt"] ?? "")
    .split("\n")
    .map((l) => l.replace(/#.*/, "").trim())
    .filter(Boolean);
  if (requirements.length) {
    await py.loadPackage(["micropip"], { errorCallback, messageCallback: () => undefined });
    if (failed.length) {
      post({
        type: "problem",
        problem: {
          source: "runtime",
          file: "requirements.txt",
          message: `cannot install ${requirements.join(", ")}: ${NO_WHEELS} (micropip included)`,
        },
      });
      failed.length = 0;
    }
  }
  const code = files[main] ?? "";
  await py.loadPackagesFromImports(code, { errorCallback, messageCallback: () => undefined });
  if (failed.length) {
    post({ type: "problem", problem: { source: "runtime", file: main, message: `loadPackage failed: ${NO_WHEELS}. ${failed.join(" ")}` } });
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

scope.onmessage = (e: MessageEvent<PythonIn>) => {
  const msg = e.data;
  if (msg.type === "run") {
    run(msg.files, msg.main, msg.indexURL).catch((err: unknown) => {
      post({ type: "problem", problem: { source: "runtime", message: `Pyodide failed to start: ${String(err)}` } });
      post({ type: "status", phase: "error", message: String(err) });
    });
  } else if (msg.type === "dom-event") {
    mirror.dispatch(msg.id, msg.event, msg.value, msg.checked);
  }
};
