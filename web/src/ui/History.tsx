/** Version history drawer: every version, view any, restore one as the new latest. */
import { useLayoutEffect, useRef } from "preact/hooks";
import { refreshVersions, restore, viewVersion } from "../actions/versions";
import type { VersionSummary } from "../api/types";
import { isBusy } from "../state/app";
import { BuildBadge, BuildErrors } from "./Badge";
import { Time } from "./Time";
import { useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";

export function History() {
  const ctx = useCtx();
  const open = useApp((s) => s.historyOpen);
  const versions = useApp((s) => s.versions);
  const shown = useApp((s) => s.version);
  const latest = useApp((s) => s.project?.latest_version);
  const busy = useApp(isBusy);
  const drawer = useRef<HTMLElement>(null);
  const close = (): void => ctx.store.set({ historyOpen: false });

  // A layout effect: Escape and the focus move work from the frame the drawer opens in.
  useLayoutEffect(() => {
    if (!open) return;
    if (ctx.store.get().project) void refreshVersions(ctx);
    const opener = document.activeElement as HTMLElement | null;
    drawer.current?.querySelector<HTMLElement>("h2")?.focus();
    const escape = (e: KeyboardEvent): void => {
      if (e.key === "Escape") close();
    };
    document.addEventListener("keydown", escape);
    return () => {
      document.removeEventListener("keydown", escape);
      opener?.focus();
    };
  }, [open]);

  return (
    <>
      <div class={`scrim${open ? " open" : ""}`} onClick={close} />
      <aside
        class={`drawer${open ? " open" : ""}`}
        data-testid="history-drawer"
        aria-label="Version history"
        aria-hidden={!open}
        ref={drawer}
      >
        <div class="drawer-head">
          <h2 tabIndex={-1}>Version history</h2>
          <button class="icon-btn" aria-label="Close history" onClick={close}>
            <Icon name="x" />
          </button>
        </div>
        <div class="versions">
          {versions.length === 0 ? (
            <p class="muted small pad">No versions yet.</p>
          ) : (
            versions.map((v) => (
              <VersionItem
                key={v.version}
                v={v}
                current={v.version === shown}
                latest={v.version === latest}
                busy={busy}
                onView={() => void viewVersion(ctx, v.version)}
                onRestore={() => void restore(ctx, v.version)}
                onCompare={() => ctx.store.set({ compare: { from: previous(versions, v.version), to: v.version } })}
              />
            ))
          )}
        </div>
      </aside>
    </>
  );
}

interface VersionItemProps {
  v: VersionSummary;
  current: boolean;
  latest: boolean;
  busy: boolean;
  onView: () => void;
  onRestore: () => void;
  onCompare: () => void;
}

/** The version before `n` (or `n` itself for the first). */
function previous(versions: readonly VersionSummary[], n: number): number {
  const older = versions.map((v) => v.version).filter((x) => x < n);
  return older.length ? Math.max(...older) : n;
}

function VersionItem({ v, current, latest, busy, onView, onRestore, onCompare }: VersionItemProps) {
  return (
    <div class={`version${current ? " current" : ""}`} data-testid="version-item" data-version={v.version}>
      <div class="version-top">
        <span class="version-num">v{v.version}</span>
        {latest ? <span class="badge">latest</span> : null}
        <BuildBadge v={v} />
        {v.fix_of ? (
          <span class="tag" data-testid="fix-round" title={`The gate's repair of v${v.fix_of}`}>
            fix round
          </span>
        ) : null}
        {v.charged === false ? (
          <span class="tag muted" data-testid="not-charged" title="This version failed the build gate; its cost was refunded">
            not charged
          </span>
        ) : null}
        <span class="spacer" />
        <Time iso={v.created_at} testid="version-time" />
      </div>
      <div class="version-prompt">{v.fix_of ? `Fix round for v${v.fix_of}` : (v.prompt ?? (v.job_id ? "Generated" : "Edited by hand"))}</div>
      <BuildErrors v={v} />
      <div class="version-actions">
        <span class="muted small">
          {v.files} file{v.files === 1 ? "" : "s"}
        </span>
        <span class="spacer" />
        <button class="btn btn-small btn-ghost" data-testid="compare-version" aria-label={`Changes in v${v.version}, compared with the version before`} onClick={onCompare}>
          Changes
        </button>
        <button class="btn btn-small btn-ghost" data-testid="view-version" disabled={current} onClick={onView}>
          {current ? "Showing" : "View"}
        </button>
        {latest ? null : (
          <button class="btn btn-small" data-testid="restore-button" disabled={busy} onClick={onRestore}>
            Restore
          </button>
        )}
      </div>
    </div>
  );
}
