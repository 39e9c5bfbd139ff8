/** One toast at a time for action results and errors; errors stay longer. */
import { useEffect } from "preact/hooks";
import { useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";

export function Toast() {
  const ctx = useCtx();
  const t = useApp((s) => s.toast);
  useEffect(() => {
    if (!t) return;
    const timer = setTimeout(() => ctx.store.set({ toast: null }), t.kind === "error" ? 8000 : 3000);
    return () => clearTimeout(timer);
  }, [t]);
  return (
    <div class={`toast${t ? ` show ${t.kind}` : ""}`} role="status" aria-live="polite" data-testid="toast">
      {t ? (
        <>
          <span>{t.text}</span>
          <button class="icon-btn" aria-label="Dismiss" onClick={() => ctx.store.set({ toast: null })}>
            <Icon name="x" size={14} />
          </button>
        </>
      ) : null}
    </div>
  );
}
