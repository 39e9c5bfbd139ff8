/** Deploy dialog: pick a target, give a token (used once, never stored), follow the deploy. */
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../actions/context";
import { deploy, isFinal } from "../actions/deploy";
import { ApiError } from "../api/client";
import type { DeployTarget, Deployment } from "../api/types";
import { onDialogClosed, useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";
import { Schedules } from "./Schedules";

interface Target {
  value: DeployTarget;
  label: string;
  /** Where a person creates the token this target needs (none for kiln's own hosting). */
  tokenUrl: string | null;
  tokenName: string;
}

const TARGETS: readonly Target[] = [
  { value: "vercel", label: "Vercel", tokenUrl: "https://vercel.com/account/tokens", tokenName: "a Vercel access token" },
  {
    value: "netlify",
    label: "Netlify",
    tokenUrl: "https://app.netlify.com/user/applications#personal-access-tokens",
    tokenName: "a Netlify personal access token",
  },
  {
    value: "github",
    label: "GitHub Pages",
    tokenUrl: "https://github.com/settings/tokens/new?scopes=repo&description=kiln",
    tokenName: "a GitHub token with the “repo” scope",
  },
  { value: "s3", label: "kiln hosting (S3)", tokenUrl: null, tokenName: "" },
];

/** A deployment's state in plain words. */
export function stateWords(state: string): string {
  switch (state) {
    case "pending":
    case "queued":
      return "Waiting to start…";
    case "building":
      return "Building your app…";
    case "uploading":
      return "Uploading…";
    case "ready":
    case "succeeded":
      return "Live: your site is online";
    case "failed":
    case "error":
      return "The deploy failed";
    case "cancelled":
    case "canceled":
      return "Cancelled";
    default:
      return state;
  }
}

/** The server's error, with a person's next step where kiln knows it. */
function deployError(err: unknown, target: Target): string {
  if (err instanceof ApiError && err.status === 404) return "Deploys are not available on this server.";
  if (err instanceof ApiError && err.code === "token_required") {
    return `${target.label} needs ${target.tokenName} to publish your app. Create one (link above), paste it into Token and deploy again.`;
  }
  return describeError(err);
}

type Result =
  | { kind: "none" }
  | { kind: "starting" }
  | { kind: "state"; d: Deployment; progress?: string }
  | { kind: "error"; text: string };

export function DeployDialog() {
  const ctx = useCtx();
  const open = useApp((s) => s.deployOpen);
  const version = useApp((s) => s.version);
  const dialog = useRef<HTMLDialogElement>(null);
  const [target, setTarget] = useState<DeployTarget>("vercel");
  const [token, setToken] = useState("");
  const [scheduling, setScheduling] = useState(false);
  const [result, setResult] = useState<Result>({ kind: "none" });
  const [busy, setBusy] = useState(false);
  // Each deploy (and each close) bumps this: an older deploy's polling then stops.
  const run = useRef(0);
  const schedule = useRef<(() => Promise<void>) | null>(null);

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (open && !el.open) {
      setResult({ kind: "none" });
      el.showModal();
    } else if (!open && el.open) {
      el.close();
    }
  }, [open]);

  const close = (): void => {
    run.current++;
    setToken("");
    ctx.store.set({ deployOpen: false });
  };

  const submit = async (): Promise<void> => {
    const { project, version: v } = ctx.store.get();
    if (!project || !v) return;
    setBusy(true);
    try {
      if (scheduling) {
        setResult({ kind: "none" });
        await schedule.current?.().catch(() => undefined);
        return;
      }
      setResult({ kind: "starting" });
      const mine = ++run.current;
      const sent = token;
      setToken("");
      const current = (): boolean => mine === run.current;
      await deploy(
        ctx,
        target,
        sent,
        (d) => current() && setResult((r) => ({ kind: "state", d, progress: r.kind === "state" ? r.progress : undefined })),
        current,
        (progress) => current() && setResult((r) => (r.kind === "state" ? { ...r, progress } : r)),
      );
    } catch (err) {
      setResult({ kind: "error", text: deployError(err, chosen) });
    } finally {
      setToken("");
      setBusy(false);
    }
  };

  const chosen = TARGETS.find((x) => x.value === target) ?? TARGETS[0]!;
  const noToken = chosen.tokenUrl === null;
  return (
    <dialog class="dialog" data-testid="deploy-dialog" ref={dialog} aria-labelledby="deploy-title" onClose={onDialogClosed(close)}>
      <div class="dialog-head">
        <h2 id="deploy-title">Deploy</h2>
        <span class="muted small">{version ? `version ${version}` : ""}</span>
      </div>
      <label class="field" for="deploy-target">
        <span>Target</span>
        <select
          class="select"
          id="deploy-target"
          data-testid="deploy-target"
          value={target}
          onChange={(e) => setTarget(e.currentTarget.value as DeployTarget)}
        >
          {TARGETS.map((t) => (
            <option key={t.value} value={t.value}>
              {t.label}
            </option>
          ))}
        </select>
      </label>
      <label class="field" for="deploy-token">
        <span>Token</span>
        <input
          class="input"
          type="password"
          id="deploy-token"
          data-testid="deploy-token"
          autocomplete="off"
          spellcheck={false}
          placeholder={noToken ? "Not needed" : "Paste a token"}
          disabled={noToken}
          value={token}
          onInput={(e) => setToken(e.currentTarget.value)}
        />
      </label>
      <p class="muted small" data-testid="deploy-hint">
        {noToken ? (
          "kiln hosts your app itself: no account or token needed."
        ) : (
          <>
            {chosen.label} needs {chosen.tokenName}.{" "}
            <a href={chosen.tokenUrl!} target="_blank" rel="noopener noreferrer" class="link">
              Create one on {chosen.label.replace(" Pages", "")}
            </a>
            , then paste it here.{" "}
            {scheduling
              ? "A schedule keeps your token, encrypted in AWS Secrets Manager, until you delete the schedule."
              : "It is used for this deploy only and never stored."}
          </>
        )}
      </p>
      <div class="schedule-box">
        {open ? <Schedules target={target} token={token} onToggle={setScheduling} bind={(create) => (schedule.current = create)} /> : null}
      </div>
      <DeployResult result={result} />
      <div class="dialog-foot">
        <button class="btn btn-ghost" onClick={close}>
          Close
        </button>
        <button class="btn btn-primary" data-testid="deploy-submit" disabled={busy} onClick={() => void submit()}>
          <Icon name="rocket" />
          <span>{scheduling ? "Create schedule" : "Deploy"}</span>
        </button>
      </div>
    </dialog>
  );
}

function DeployResult({ result }: { result: Result }) {
  if (result.kind === "none") return <div class="deploy-result" data-testid="deploy-result" aria-live="polite" />;
  return (
    <div class="deploy-result" data-testid="deploy-result" aria-live="polite">
      {result.kind === "starting" ? <div class="muted small">Starting deploy…</div> : null}
      {result.kind === "error" ? (
        <div class="turn-error" data-testid="deploy-error">
          {result.text}
        </div>
      ) : null}
      {result.kind === "state" ? <DeploymentState d={result.d} progress={result.progress} /> : null}
    </div>
  );
}

function DeploymentState({ d, progress }: { d: Deployment; progress?: string | undefined }) {
  const log = Array.isArray(d.log) ? d.log.join("\n") : (d.log ?? "");
  return (
    <>
      <div class={`deploy-state ${d.state}`} data-state={d.state}>
        <span class={`status-dot ${d.state}`} />
        {stateWords(d.state)}
      </div>
      {progress && !isFinal(d) ? (
        <div class="muted small" data-testid="deploy-progress">
          {progress.charAt(0).toUpperCase() + progress.slice(1)}
        </div>
      ) : null}
      {d.url ? (
        <a href={d.url} target="_blank" rel="noopener noreferrer" class="deploy-url">
          {d.url}
        </a>
      ) : null}
      {d.error ? <div class="turn-error">{d.error.message}</div> : null}
      {log ? <pre class="deploy-log">{log}</pre> : null}
    </>
  );
}
