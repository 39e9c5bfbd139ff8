/**
 * Host side of the Python engine. One worker keeps Pyodide warm across runs (it takes
 * seconds to start); a run that is still busy when the next one comes (say, a loop that
 * never ends) is stopped by terminating its worker.
 */
import type { DomOp } from "./python-dom";
import type { Problem } from "./problems";
import type { ExecResult, PythonIn, PythonOut } from "./python-worker";

export type { ExecResult };

export interface PythonCallbacks {
  write(text: string): void;
  dom(ops: DomOp[]): void;
  problem(p: Problem): void;
  status(phase: string, message?: string): void;
}

export interface PythonEngine {
  run(files: Record<string, string>): void;
  /** The original runner: code in a namespace kept across calls -> `{result, stdout, error}`. */
  exec(code: string): Promise<ExecResult>;
  event(id: number, event: string, value?: string, checked?: boolean): void;
  stop(): void;
}

export function entryModule(files: Record<string, string>): string {
  return (
    ["main.py", "app.py", "src/main.py"].find((p) => p in files) ??
    Object.keys(files).find((p) => p.endsWith(".py")) ??
    "main.py"
  );
}

/** `packagesURL`: where Pyodide packages come from (default: the official CDN). */
export function createPythonEngine(indexURL: string, cb: PythonCallbacks, packagesURL?: string): PythonEngine {
  let worker: Worker | null = null;
  let busy = false;
  let nextId = 0;
  const waiting = new Map<number, (r: ExecResult) => void>();

  function spawn(): Worker {
    const w = new Worker(new URL("./python-worker.ts", import.meta.url), { type: "module" });
    w.onmessage = (e: MessageEvent<PythonOut>) => {
      const m = e.data;
      if (m.type === "result") {
        waiting.get(m.id)?.({ result: m.result, stdout: m.stdout, error: m.error });
        waiting.delete(m.id);
      } else if (m.type === "dom") cb.dom(m.ops);
      else if (m.type === "problem") cb.problem(m.problem);
      else if (m.type === "status") {
        if (m.phase === "ready" || m.phase === "error") busy = false;
        cb.status(m.phase, m.message);
      } else cb.write(m.text);
    };
    w.onerror = (e) => cb.problem({ source: "runtime", message: `Python worker failed: ${e.message}` });
    return w;
  }

  const send = (m: PythonIn): void => worker?.postMessage(m);
  return {
    run(files) {
      if (busy) {
        worker?.terminate();
        worker = null;
      }
      worker ??= spawn();
      busy = true;
      send({ type: "run", files, main: entryModule(files), indexURL, ...(packagesURL ? { packagesURL } : {}) });
    },
    exec(code) {
      worker ??= spawn();
      const id = ++nextId;
      return new Promise<ExecResult>((resolve) => {
        waiting.set(id, resolve);
        send({ type: "exec", id, code, indexURL, ...(packagesURL ? { packagesURL } : {}) });
      });
    },
    event: (id, event, value, checked) => send({ type: "dom-event", id, event, value, checked }),
    stop() {
      worker?.terminate();
      worker = null;
      busy = false;
      for (const resolve of waiting.values()) resolve({ result: null, stdout: "", error: "stopped" });
      waiting.clear();
    },
  };
}
