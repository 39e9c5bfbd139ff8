/**
 * What every action works with: the store, the API client, the preview, and a few
 * per-tab counters. Actions are plain functions over this; only downloads touch the DOM.
 */
import { ApiError, type ApiClient } from "../api/client";
import type { AppState, Problem } from "../state/app";
import { formatRoute } from "../state/route";
import type { Store } from "../state/store";
import { PreviewBridge } from "../ui/preview-bridge";

export interface Ctx {
  readonly store: Store<AppState>;
  readonly api: ApiClient;
  readonly preview: PreviewBridge;
  /** The job being polled and the project whose builds are watched (one loop each). */
  polling: string | null;
  watchingBuilds: string | null;
  turnSeq: number;
}

export function createContext(store: Store<AppState>, api: ApiClient): Ctx {
  const ctx: Ctx = {
    store,
    api,
    preview: new PreviewBridge((p) => addProblem(ctx, p)),
    polling: null,
    watchingBuilds: null,
    turnSeq: 0,
  };
  return ctx;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Words for the error codes a person can act on; the server's message otherwise. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError && err.code === "budget_exceeded") {
    return `${err.message}. Raise the project's budget to continue.`;
  }
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}

export function formatProblem(p: Problem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}` : ""}${p.column ? `:${p.column}` : ""}` : "";
  return where ? `${where}: ${p.message}` : p.message;
}

export function toast(ctx: Ctx, kind: "error" | "info", text: string): void {
  ctx.store.set({ toast: { kind, text } });
}

export function fail(ctx: Ctx, err: unknown): void {
  toast(ctx, "error", describeError(err));
}

/** Add a problem unless it is already listed: the same message, or a build error at the same
 * place (the preview's bundler and the build gate word one error differently). */
export function addProblem(ctx: Ctx, problem: Problem): void {
  const { problems } = ctx.store.get();
  const samePlace = (p: Problem): boolean =>
    p.source === "build" && problem.source === "build" && !!p.file && p.file === problem.file && p.line === problem.line;
  const same = (p: Problem): boolean => (p.source === problem.source && p.message === problem.message) || samePlace(p);
  if (problems.some(same)) return;
  ctx.store.set({ problems: [...problems, problem].slice(-50) });
}

export function clearProblems(ctx: Ctx): void {
  ctx.store.set({ problems: [] });
}

export function setHash(projectId: string | null, version: number | null): void {
  const next = formatRoute({ projectId, version });
  if (location.hash !== next && !(next === "#/" && location.hash === "")) {
    history.replaceState(null, "", next);
  }
}

export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 40) || "project";
}
