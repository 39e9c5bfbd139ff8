/** Right panel: preview with device widths, and the problems / terminal tabs below it. */
import { useEffect, useRef, useState } from "preact/hooks";
import { clearProblems, formatProblem } from "../actions/context";
import { select } from "../actions/editing";
import { fix } from "../actions/generate";
import type { Problem } from "../state/app";
import { useApp, useCtx } from "./hooks";
import { Icon, type IconName } from "./Icon";
import type { BufferedTerminal } from "./terminal";
import { ChecksPanel } from "./Checks";

const DEVICES: readonly { key: string; label: string; width: number | null; icon: IconName }[] = [
  { key: "full", label: "Full width", width: null, icon: "monitor" },
  { key: "tablet", label: "Tablet (768 px)", width: 768, icon: "tablet" },
  { key: "phone", label: "Phone (375 px)", width: 375, icon: "phone" },
];

/** `frame` receives the element the preview engine mounts its iframe into (once). */
export function PreviewPane({ terminal, frame }: { terminal: BufferedTerminal; frame: (el: HTMLElement) => void }) {
  const ctx = useCtx();
  const status = useApp((s) => s.previewStatus);
  const hasApp = useApp((s) => s.project !== null && (s.version ?? 0) > 0);
  const job = useApp((s) => s.job);
  const live = job?.livePreview ?? false;
  const [device, setDevice] = useState<string>("full");
  const frameEl = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (frameEl.current) frame(frameEl.current);
  }, [frame]);
  return (
    <>
      <div class="panel-head">
        <h2 class="panel-title">Preview</h2>
        <span class="preview-status muted small" data-testid="preview-status">
          {status}
        </span>
        <span class="spacer" />
        <div class="segmented" role="group" aria-label="Device width">
          {DEVICES.map((d) => (
            <button
              key={d.key}
              class={`seg${device === d.key ? " active" : ""}`}
              title={d.label}
              aria-label={d.label}
              aria-pressed={device === d.key}
              data-testid={`device-${d.key}`}
              onClick={() => {
                setDevice(d.key);
                ctx.preview.setWidth(d.width);
              }}
            >
              <Icon name={d.icon} size={15} />
            </button>
          ))}
        </div>
      </div>
      <div class="preview-stage">
        <div
          class={`preview-frame${device === "full" ? "" : " framed"}`}
          data-testid="preview-frame-container"
          ref={frameEl}
          hidden={!(hasApp || live)}
        />
        <div class="preview-empty" hidden={hasApp || live}>
          <div class="empty-mark">
            <Icon name="monitor" size={22} />
          </div>
          <p>{job && !live ? "The preview starts when the first version is ready…" : "Your app runs here."}</p>
        </div>
      </div>
      <Dock terminal={terminal} />
    </>
  );
}

function Dock({ terminal }: { terminal: BufferedTerminal }) {
  const ctx = useCtx();
  const problems = useApp((s) => s.problems);
  const busy = useApp((s) => s.job !== null);
  const [tab, setTab] = useState<"problems" | "terminal" | "checks">("problems");
  const [hasOutput, setHasOutput] = useState(false);
  const term = useRef<HTMLDivElement>(null);
  useEffect(() => terminal.onWrite(() => setHasOutput(true)), [terminal]);
  useEffect(() => {
    if (tab === "terminal" && term.current) void terminal.open(term.current);
  }, [tab, terminal]);
  const count = problems.length;
  return (
    <div class="dock">
      <div class="dock-tabs">
        <div class="dock-tablist" role="tablist" aria-label="Problems, checks and terminal">
        <button
          class={`tab${tab === "problems" ? " active" : ""}${count ? " has-problems" : ""}`}
          role="tab"
          aria-selected={tab === "problems"}
          data-testid="problems-tab"
          onClick={() => setTab("problems")}
        >
          {count ? `Problems (${count})` : "Problems"}
        </button>
        <button class={`tab${tab === "checks" ? " active" : ""}`} role="tab" aria-selected={tab === "checks"} data-testid="checks-tab" onClick={() => setTab("checks")}>
          Checks
        </button>
        <button
          class={`tab${tab === "terminal" ? " active" : ""}${hasOutput ? " has-output" : ""}`}
          role="tab"
          aria-selected={tab === "terminal"}
          data-testid="terminal-tab"
          onClick={() => setTab("terminal")}
        >
          Terminal
        </button>
        </div>
        <span class="spacer" />
        <button class="btn btn-small btn-ghost" title="Clear problems" hidden={tab !== "problems"} onClick={() => clearProblems(ctx)}>
          Clear
        </button>
      </div>
      <div class="problems" data-testid="problems-panel" role="tabpanel" hidden={tab !== "problems"}>
        {count === 0 ? (
          <div class="problems-empty muted small">No problems detected.</div>
        ) : (
          problems.map((p, i) => <ProblemRow key={`${i}:${p.source}:${p.file ?? ""}:${p.message}`} problem={p} busy={busy} />)
        )}
      </div>
      <div class="checks-tabpanel" role="tabpanel" aria-label="Checks" hidden={tab !== "checks"}>
        {tab === "checks" ? <ChecksPanel /> : null}
      </div>
      <div class="terminal" data-testid="terminal" role="tabpanel" aria-label="Terminal" ref={term} hidden={tab !== "terminal"} />
    </div>
  );
}

function ProblemRow({ problem, busy }: { problem: Problem; busy: boolean }) {
  const ctx = useCtx();
  const where = problem.file ? `${problem.file}${problem.line ? `:${problem.line}` : ""}${problem.column ? `:${problem.column}` : ""}` : "";
  // An outage is not the app's fault: the model cannot fix it, a retry can.
  const outage = problem.code === "registry_unavailable";
  return (
    <div class={`problem ${problem.source}`} data-testid="problem" title={formatProblem(problem)}>
      <span class={`problem-source ${problem.source}`}>{problem.source}</span>
      <div class="problem-body">
        {where ? (
          <button class="problem-where" onClick={() => problem.file && select(ctx, problem.file)}>
            {where}
          </button>
        ) : null}
        <span class="problem-message">{problem.message}</span>
      </div>
      {outage ? (
        <button
          class="btn btn-small"
          data-testid="retry-preview"
          title="Build the preview again"
          onClick={() => {
            clearProblems(ctx);
            ctx.preview.retry();
          }}
        >
          <Icon name="refresh" size={13} />
          Retry
        </button>
      ) : (
        <button class="btn btn-small" data-testid="fix-it" title="Ask the model to fix this" disabled={busy} onClick={() => fix(ctx, problem)}>
          <Icon name="wrench" size={13} />
          Fix it
        </button>
      )}
    </div>
  );
}
