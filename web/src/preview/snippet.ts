/**
 * Small JS snippets in a Web Worker that is terminated when it overruns its time. The
 * worker script is /vendor/snippet-worker.js (scripts/), served under the sandbox's CSP.
 */
export interface SnippetResult {
  ok: boolean;
  value?: string;
  error?: string;
  logs: string[];
  timedOut: boolean;
}

export function runSnippet(code: string, timeoutMs: number, origin = location.origin): Promise<SnippetResult> {
  const worker = new Worker(`${origin.replace(/\/$/, "")}/vendor/snippet-worker.js`);
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
