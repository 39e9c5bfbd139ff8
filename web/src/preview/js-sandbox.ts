/**
 * "Run" from the editor: a JavaScript file, or the snippet selected in it, in the Web
 * Worker sandbox (./snippet: its own thread, terminated when it overruns its time), with
 * what it logged, its value or its error written to the terminal.
 */
import { runSnippet, type SnippetResult } from "./snippet";

export const RUN_TIMEOUT_MS = 5000;

/** Files the sandbox can run: plain JavaScript (no JSX, no TypeScript). */
export function runnable(path: string): boolean {
  return /\.(m?js|cjs)$/.test(path);
}

/** A module file as a script the worker can run: `export` dropped; an `import` is refused,
 * as the sandbox has no module graph. */
export function asScript(code: string): string {
  const imported = /^\s*import\s.*$/m.exec(code);
  if (imported) throw new Error(`imports do not run in the sandbox (${imported[0].trim()}); select the code to run instead`);
  return code.replace(/^(\s*)export\s+default\s+(?=(async\s+)?(function|class)\b)/gm, "$1").replace(/^(\s*)export\s+(?=(const|let|var|async|function|class)\b)/gm, "$1");
}

const DIM = "\x1b[90m";
const RED = "\x1b[31m";
const RESET = "\x1b[0m";

/** The terminal's lines for one run. */
export function formatRun(label: string, r: SnippetResult): string {
  const lines = [`${DIM}$ run ${label}${RESET}`, ...r.logs];
  if (r.timedOut) lines.push(`${RED}stopped: ${r.error ?? "timed out"}${RESET}`);
  else if (!r.ok) lines.push(`${RED}${r.error ?? "failed"}${RESET}`);
  else if (r.value !== undefined && r.value !== "undefined") lines.push(`${DIM}=>${RESET} ${r.value}`);
  return lines.join("\n") + "\n";
}

export interface RunOptions {
  timeoutMs?: number;
  run?: (code: string, timeoutMs: number) => Promise<SnippetResult>;
}

/** Run `code` (a file's text or a selection) and write the outcome to `terminal`. */
export async function runInTerminal(code: string, label: string, terminal: { write(text: string): void }, options: RunOptions = {}): Promise<SnippetResult> {
  const timeoutMs = options.timeoutMs ?? RUN_TIMEOUT_MS;
  let result: SnippetResult;
  try {
    result = await (options.run ?? runSnippet)(asScript(code), timeoutMs);
  } catch (err) {
    result = { ok: false, error: String((err as Error).message ?? err), logs: [], timedOut: false };
  }
  terminal.write(formatRun(label, result));
  return result;
}
