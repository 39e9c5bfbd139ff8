/** Small JS snippets in a Web Worker that is terminated when it overruns its time. */
export interface SnippetResult {
  ok: boolean;
  value?: string;
  error?: string;
  logs: string[];
  timedOut: boolean;
}

export function runSnippet(code: string, timeoutMs: number): Promise<SnippetResult> {
  const worker = new Worker(new URL("./snippet-worker.ts", import.meta.url), { type: "module" });
  return new Promise<SnippetResult>((resolve) => {
    const timer = setTimeout(() => {
      worker.terminate();
      resolve({ ok: false, error: `timed out after ${timeoutMs} ms`, logs: [], timedOut: true });
    }, timeoutMs);
    worker.onmessage = (e: MessageEvent<Omit<SnippetResult, "timedOut">>) => {
      clearTimeout(timer);
      worker.terminate();
      resolve({ ...e.data, timedOut: false });
    };
    worker.onerror = (e) => {
      clearTimeout(timer);
      worker.terminate();
      resolve({ ok: false, error: e.message, logs: [], timedOut: false });
    };
    worker.postMessage({ code });
  });
}
