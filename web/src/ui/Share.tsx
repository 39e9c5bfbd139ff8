/** Share: a public, expiring link to the version on screen, with a copy button. */
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../actions/context";
import { shareLink } from "../actions/share";
import { ApiError } from "../api/client";
import type { PreviewLink } from "../api/types";
import { useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";

type LinkState = { kind: "creating" } | { kind: "ready"; link: PreviewLink } | { kind: "error"; text: string };

export function Share() {
  const ctx = useCtx();
  const open = useApp((s) => s.popover === "share");
  const disabled = useApp((s) => !s.project || !s.version);
  const version = useApp((s) => s.version);
  return (
    <div class="popover-wrap" data-popover="share">
      <button
        class="btn btn-ghost"
        data-testid="share-button"
        aria-label="Share"
        aria-haspopup="dialog"
        aria-expanded={open}
        disabled={disabled}
        onClick={() => ctx.store.set({ popover: open ? null : "share" })}
      >
        <Icon name="link" />
        <span class="btn-label">Share</span>
      </button>
      {open ? <SharePopover version={version} /> : null}
    </div>
  );
}

function SharePopover({ version }: { version: number | null }) {
  const ctx = useCtx();
  const [state, setState] = useState<LinkState>({ kind: "creating" });
  const [copied, setCopied] = useState<string>("Copy");
  useEffect(() => {
    let live = true;
    shareLink(ctx).then(
      (link) => live && setState({ kind: "ready", link }),
      (err: unknown) => {
        const red = err instanceof ApiError && err.code === "version_red";
        const text = red ? `This version does not build, so it cannot be shared: ${describeError(err)}` : describeError(err);
        if (live) setState({ kind: "error", text });
      },
    );
    return () => {
      live = false;
    };
  }, [ctx]);
  return (
    <div class="popover" role="dialog" aria-label="Share a preview link" data-testid="share-popover">
      <div class="popover-body">
        {state.kind === "creating" ? (
          <p class="muted small">Creating a link to v{version}… (kiln builds it first if needed)</p>
        ) : state.kind === "error" ? (
          <p class="turn-error small" role="alert" data-testid="share-error">
            {state.text}
          </p>
        ) : (
          <>
            <p class="small">Anyone with this link can open v{version}.</p>
            <div class="row">
              <input
                class="input"
                readOnly
                value={state.link.url}
                data-testid="share-url"
                aria-label="Preview link"
                onFocus={(e) => e.currentTarget.select()}
              />
              <button
                class="btn btn-small"
                data-testid="share-copy"
                onClick={() =>
                  void navigator.clipboard?.writeText(state.link.url).then(
                    () => setCopied("Copied"),
                    () => setCopied("Press Ctrl+C"),
                  )
                }
              >
                {copied}
              </button>
            </div>
            <p class="muted small" data-testid="share-expiry">
              Expires {new Date(state.link.expires_at).toLocaleString()}
            </p>
            <a class="small" href={state.link.url} target="_blank" rel="noopener noreferrer">
              Open in a new tab
            </a>
          </>
        )}
      </div>
    </div>
  );
}
