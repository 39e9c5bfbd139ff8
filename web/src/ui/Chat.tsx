/** Left panel: the conversation with the model and the prompt box. */
import { useLayoutEffect, useRef } from "preact/hooks";
import { retry } from "../actions/generate";
import { exportChat } from "../actions/projects";
import { viewVersion } from "../actions/versions";
import type { BuildState } from "../api/types";
import type { Turn } from "../state/app";
import { keptVersion } from "../state/health";
import { Composer } from "./Composer";
import { formatUsage } from "./format";
import { useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";
import { ProjectsHome } from "./ProjectsHome";

/** Ideas for a model: anything goes. */
const MODEL_EXAMPLES = [
  "A todo list with filters and local storage",
  "A pomodoro timer with a progress ring",
  "A markdown note editor with live preview",
];
/** Without a model the offline starter answers: only what its templates build. */
const STARTER_EXAMPLES = ["A todo list that keeps my tasks", "A stopwatch with laps", "A kanban board for my week"];

export function Chat() {
  const ctx = useCtx();
  const hasProject = useApp((s) => s.project !== null);
  const canExport = useApp((s) => s.project !== null && s.turns.length > 0);
  const prompt = useRef<HTMLTextAreaElement>(null);
  const useExample = (text: string): void => {
    if (!prompt.current) return;
    prompt.current.value = text;
    prompt.current.focus();
  };
  return (
    <>
      <div class="panel-head">
        <h2 class="panel-title">Chat</h2>
        <span class="spacer" />
        <button
          class="btn btn-small btn-ghost"
          data-testid="export-chat"
          title="Download this chat as Markdown"
          disabled={!canExport}
          onClick={() => void exportChat(ctx)}
        >
          <Icon name="download" size={13} />
          Export
        </button>
      </div>
      <Turns onExample={useExample} hasProject={hasProject} />
      <Progress />
      <KeptBanner />
      <Composer input={prompt} />
    </>
  );
}

function Turns({ onExample, hasProject }: { onExample: (text: string) => void; hasProject: boolean }) {
  const turns = useApp((s) => s.turns);
  // Until the providers are known, the examples any provider builds.
  const model = useApp((s) => s.providers.find((p) => (s.provider ? p.name === s.provider : p.default))?.is_model === true);
  const examples = model ? MODEL_EXAMPLES : STARTER_EXAMPLES;
  const busy = useApp((s) => s.job !== null);
  const list = useRef<HTMLDivElement>(null);
  // Whether the list was scrolled to the bottom before this draw: then it follows new lines.
  const el = list.current;
  const stick = !el || el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  useLayoutEffect(() => {
    if (stick && list.current) list.current.scrollTop = list.current.scrollHeight;
  });
  if (turns.length === 0) {
    return (
      <div class="turns" data-testid="turns" ref={list}>
        <div class="empty-chat">
          <div class="empty-mark">
            <Icon name="sparkles" size={22} />
          </div>
          <h2>{hasProject ? "No messages yet" : "What should we build?"}</h2>
          <p>Describe an app in plain words. kiln writes the files, runs them in the preview and keeps every version.</p>
          {hasProject ? null : <ProjectsHome />}
          <div class="examples">
            {examples.map((text) => (
              <button key={text} class="example" data-testid="example" onClick={() => onExample(text)}>
                {text}
              </button>
            ))}
          </div>
        </div>
      </div>
    );
  }
  const firstNotice = turns.findIndex((t) => t.notice);
  return (
    <div class="turns" data-testid="turns" ref={list} role="log" aria-label="Conversation" aria-relevant="additions">
      {turns.map((t, i) => (
        <TurnView key={t.key} turn={t} repeatNotice={i > firstNotice} busy={busy} />
      ))}
    </div>
  );
}

function statusLabel(turn: Turn): string {
  switch (turn.status) {
    case "sending":
      return "Sending…";
    case "queued":
      return "Queued";
    case "running":
      return turn.message || "Thinking…";
    case "succeeded":
      return turn.version ? `Saved as v${turn.version}` : "Done";
    case "failed":
      return "Failed";
    case "cancelled":
      return "Cancelled";
  }
}

/** What the gate said about the version a turn saved: "red" when it does not build. */
function useTurnBuild(turn: Turn): BuildState | null {
  return useApp((s) => (turn.version ? (s.versions.find((v) => v.version === turn.version)?.build ?? null) : null));
}

/** A saved turn's dot: green only once its version is not known to fail. */
function dotClass(turn: Turn, build: BuildState | null): string {
  return turn.status === "succeeded" && build === "red" ? "failed" : turn.status;
}

function TurnBuild({ build }: { build: BuildState | null }) {
  if (build !== "red") return null;
  return (
    <span class="turn-build" data-testid="turn-build">
      did not build
    </span>
  );
}

/** A version made without the model (hand edit, restore, fix round): one quiet line. */
function EditTurn({ turn }: { turn: Turn }) {
  const icon = turn.prompt.startsWith("Restored") ? "history" : turn.prompt.startsWith("Fix round") ? "wrench" : "save";
  const build = useTurnBuild(turn);
  return (
    <div class="turn event" data-testid="turn" data-status={turn.status}>
      <Icon name={icon} size={13} />
      <span class="event-text">{turn.prompt}</span>
      <span class={`status-dot ${dotClass(turn, build)}`} />
      <span class="turn-status" data-testid="turn-status">
        {statusLabel(turn)}
      </span>
      <TurnBuild build={build} />
    </div>
  );
}

/** A failed turn's code and message, with Retry (and a way to raise the budget). */
function TurnError({ turn, busy }: { turn: Turn; busy: boolean }) {
  const ctx = useCtx();
  return (
    <div class="turn-error" role="alert" data-testid="turn-error">
      {turn.errorCode ? (
        <code class="error-code" data-testid="error-code">
          {turn.errorCode}
        </code>
      ) : null}
      <span>{turn.error ?? "Failed."}</span>
      {turn.status === "failed" ? (
        <div class="error-actions">
          <button class="btn btn-small" data-testid="retry-button" disabled={busy} onClick={() => retry(ctx, turn)}>
            <Icon name="refresh" size={13} />
            Retry
          </button>
          {turn.errorCode === "budget_exceeded" ? (
            <button
              class="btn btn-small btn-ghost"
              data-testid="raise-budget"
              onClick={(e) => {
                e.stopPropagation();
                ctx.store.set({ popover: "settings" });
              }}
            >
              Raise the budget
            </button>
          ) : null}
        </div>
      ) : null}
    </div>
  );
}

function TurnView({ turn, repeatNotice, busy }: { turn: Turn; repeatNotice: boolean; busy: boolean }) {
  const build = useTurnBuild(turn);
  if (turn.jobId === null && turn.status === "succeeded") return <EditTurn turn={turn} />;
  const running = turn.status === "queued" || turn.status === "running" || turn.status === "sending";
  const meta = [turn.provider, turn.model].filter(Boolean);
  return (
    <div class="turn" data-testid="turn" data-status={turn.status}>
      <div class="bubble user">{turn.prompt}</div>
      <div class="reply">
        {turn.notice ? (
          <div class={`notice${repeatNotice ? " compact" : ""}`} data-testid="notice" role="note" title={turn.notice}>
            <Icon name="alert" size={14} />
            <span>{repeatNotice ? "Offline starter template, not an AI model" : turn.notice}</span>
          </div>
        ) : null}
        {turn.plan ? <div class="plan">{turn.plan.trim()}</div> : null}
        {turn.files.length ? (
          <div class="touched">
            {turn.files.slice(0, 12).map((f) => (
              <span key={f} class="chip">
                {f}
              </span>
            ))}
            {turn.files.length > 12 ? <span class="chip">+{turn.files.length - 12}</span> : null}
          </div>
        ) : null}
        {turn.progress.length ? (
          <ul class="progress-lines" data-testid="progress-lines">
            {turn.progress.map((line, i) => (
              <li key={i}>{line}</li>
            ))}
          </ul>
        ) : null}
        {turn.error || turn.status === "failed" ? <TurnError turn={turn} busy={busy} /> : null}
        <div class="turn-foot">
          <span class={`status-dot ${dotClass(turn, build)}`} />
          <span class="turn-status" data-testid="turn-status">
            {running ? <span class="shimmer">{statusLabel(turn)}</span> : statusLabel(turn)}
          </span>
          <TurnBuild build={build} />
          {turn.usage ? (
            <span class="usage" data-testid="usage">
              {formatUsage(turn.usage)}
            </span>
          ) : null}
          {turn.charged === false ? (
            <span class="tag muted" data-testid="not-charged" title="Its version failed the build gate; the cost was refunded">
              not charged
            </span>
          ) : null}
          {meta.length ? <span class="muted">{meta.join(" · ")}</span> : null}
        </div>
      </div>
    </div>
  );
}

/** What a screen reader hears about the running generation: its start, end and outcome. */
export function progressAnnouncement(turn: Turn | undefined): string {
  if (!turn || !turn.jobId) return "";
  switch (turn.status) {
    case "sending":
    case "queued":
    case "running":
      return "Generating your app…";
    case "succeeded":
      return turn.version ? `Done: saved as version ${turn.version}.` : "Done.";
    case "failed":
      return `Generation failed: ${turn.error ?? "no reason given"}`;
    case "cancelled":
      return "Generation stopped.";
  }
}

function Progress() {
  const text = useApp((s) => progressAnnouncement(s.turns.at(-1)));
  return (
    <div class="sr-only" role="status" aria-live="polite" data-testid="generation-progress">
      {text}
    </div>
  );
}

/** When the latest version failed and kiln kept the last green one, say so and offer it. */
function KeptBanner() {
  const ctx = useCtx();
  const project = useApp((s) => s.project);
  const versions = useApp((s) => s.versions);
  const version = useApp((s) => s.version);
  const busy = useApp((s) => s.job !== null);
  const k = busy ? null : keptVersion(project, versions);
  if (!k) return null;
  const showing = version === k.kept;
  return (
    <div class="kept-banner" data-testid="kept-banner" role="status">
      <Icon name="alert" size={14} />
      <span>
        {k.text}. Your next prompt builds on v{k.kept}.
      </span>
      <button class="btn btn-small" data-testid="open-last-green" disabled={showing} onClick={() => void viewVersion(ctx, k.kept)}>
        {showing ? `Showing v${k.kept}` : `Open v${k.kept}`}
      </button>
    </div>
  );
}
