/** Host side of the Python engine: one worker per run, its output routed to the shell. */
import type { DomOp } from "./python-dom";
import type { Problem } from "./problems";
import type { PythonIn, PythonOut } from "./python-worker";

export interface PythonCallbacks {
  write(text: string): void;
  dom(ops: DomOp[]): void;
  problem(p: Problem): void;
  status(phase: string, message?: string): void;
}

export interface PythonRun {
  event(id: number, event: string, value?: string, checked?: boolean): void;
  stop(): void;
}

export function entryModule(files: Record<string, string>): string {
  return ["main.py", "app.py", "src/main.py"].find((p) => p in files) ?? Object.keys(files).find((p) => p.endsWith(".py")) ?? "main.py";
}

export function runPython(files: Record<string, string>, indexURL: string, cb: PythonCallbacks): PythonRun {
  const worker = new Worker(new URL("./python-worker.ts", import.meta.url), { type: "module" });
  const send = (m: PythonIn): void => worker.postMessage(m);
  worker.onmessage = (e: MessageEvent<PythonOut>) => {
    const m = e.data;
    if (m.type === "dom") cb.dom(m.ops);
    else if (m.type === "problem") cb.problem(m.problem);
    else if (m.type === "status") cb.status(m.phase, m.message);
    else cb.write(m.text);
  };
  worker.onerror = (e) => cb.problem({ source: "runtime", message: `Python worker failed: ${e.message}` });
  send({ type: "run", files, main: entryModule(files), indexURL });
  return {
    event: (id, event, value, checked) => send({ type: "dom-event", id, event, value, checked }),
    stop: () => worker.terminate(),
  };
}
