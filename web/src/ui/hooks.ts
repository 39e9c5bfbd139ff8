/** How views reach the actions' context and read slices of the state. */
import { useComputed } from "@preact/signals";
import { createContext } from "preact";
import { useContext } from "preact/hooks";
import type { Ctx } from "../actions/context";
import type { AppState } from "../state/app";

export const AppContext = createContext<Ctx | null>(null);

export function useCtx(): Ctx {
  const ctx = useContext(AppContext);
  if (!ctx) throw new Error("A view was drawn outside <App>.");
  return ctx;
}

/**
 * One slice of the state; the view redraws only when the slice changes identity.
 * `select` must read nothing but the state (it is captured once).
 */
export function useApp<T>(select: (s: AppState) => T): T {
  const ctx = useCtx();
  return useComputed(() => select(ctx.store.state.value)).value;
}

/**
 * A `<dialog>`'s close handler that ignores a stale close: Chrome queues "close" as a task
 * after Escape, so a dialog reopened before that task runs would otherwise be shut again.
 */
export function onDialogClosed(handler: () => void): (e: Event) => void {
  return (e) => {
    if (!(e.currentTarget as HTMLDialogElement).open) handler();
  };
}
