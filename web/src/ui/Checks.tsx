/** The Checks tab: the version's acceptance checks in plain steps, their results (failing
 * step, expected, what the page showed, a screenshot), and adding or editing one. */
import { useEffect, useState } from "preact/hooks";
import type { CheckPublic, VersionChecks } from "../api/types";
import { describeCheck, loadChecks, saveCheck, screenshotUrl } from "../actions/checks";
import { describeError } from "../actions/context";
import { useApp, useCtx } from "./hooks";

const EXAMPLE = 'fill label "New task" with "milk"\nclick role button "Add"\nexpect text "milk"';

export function ChecksPanel() {
  const ctx = useCtx();
  const pid = useApp((s) => s.project?.project_id ?? null);
  const version = useApp((s) => s.version);
  const build = useApp((s) => s.versions.find((v) => v.version === s.version)?.build ?? null);
  const [data, setData] = useState<VersionChecks | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<{ name: string; body: string; replaces?: string } | null>(null);
  const [words, setWords] = useState("");
  useEffect(() => {
    let live = true;
    setError(null);
    loadChecks(ctx).then(
      (d) => live && setData(d),
      (err: unknown) => live && setError(describeError(err)),
    );
    return () => {
      live = false;
    };
  }, [ctx, pid, version, build]);
  if (!pid || !version) return <div class="checks-empty muted small">Checks appear with the first version.</div>;
  const checks = data?.version === version ? data.checks : [];
  const passed = checks.filter((c) => c.result?.passed).length;
  return (
    <div class="checks" data-testid="checks-panel">
      <div class="checks-head small">
        <span data-testid="checks-summary">
          {checks.length === 0 ? "No checks yet." : data?.ran ? `${passed}/${checks.length} checks pass` : `${checks.length} checks, not run yet`}
        </span>
        <span class="spacer" />
        <button class="btn btn-small" data-testid="add-check" onClick={() => setEditing({ name: "", body: EXAMPLE })}>
          Add check
        </button>
      </div>
      {error ? <div class="checks-error small">{error}</div> : null}
      {editing ? <CheckForm initial={editing} onDone={() => setEditing(null)} /> : null}
      <ol class="checks-list">
        {checks.map((c, i) => (
          <CheckRow key={`${version}:${c.name}`} check={c} index={i} version={version} onEdit={() => setEditing({ name: c.name, body: c.body, replaces: c.name })} />
        ))}
      </ol>
      <form
        class="checks-words row"
        onSubmit={(e) => {
          e.preventDefault();
          void describeCheck(ctx, words).then((ok) => ok && setWords(""));
        }}
      >
        <input
          class="input"
          aria-label="Describe a check"
          placeholder="Describe a check: when I add a task it appears in the list"
          value={words}
          onInput={(e) => setWords((e.target as HTMLInputElement).value)}
        />
        <button class="btn btn-small" type="submit" disabled={!words.trim()}>
          Ask the model
        </button>
      </form>
    </div>
  );
}

function CheckRow({ check, index, version, onEdit }: { check: CheckPublic; index: number; version: number; onEdit: () => void }) {
  const ctx = useCtx();
  const [shot, setShot] = useState<string | null>(null);
  const r = check.result;
  const state = check.error ? "invalid" : r ? (r.passed ? "passed" : "failed") : "pending";
  useEffect(() => () => void (shot && URL.revokeObjectURL(shot)), [shot]);
  return (
    <li class={`check-item ${state}`} data-testid="check" data-state={state}>
      <div class="check-head">
        <span class={`check-state ${state}`}>{{ passed: "✓", failed: "✕", invalid: "✕", pending: "…" }[state]}</span>
        <strong class="check-name">{check.name}</strong>
        <span class="spacer" />
        <button class="btn btn-small btn-ghost" data-testid="edit-check" onClick={onEdit}>
          Edit
        </button>
        <button class="btn btn-small btn-ghost" data-testid="delete-check" onClick={() => void saveCheck(ctx, check.name, null)}>
          Delete
        </button>
      </div>
      {check.error ? <div class="check-failure small">{check.error}</div> : null}
      <ol class="check-steps small">
        {check.steps.map((s, i) => (
          <li key={i} class={r && !r.passed && r.failed_step === i ? "failing" : ""}>
            {s}
          </li>
        ))}
      </ol>
      {r && !r.passed && !check.error ? (
        <div class="check-failure small" data-testid="check-failure">
          <div>
            Failed at step {(r.failed_step ?? 0) + 1}: <code>{r.source}</code>
          </div>
          <div>Expected: {r.expected}</div>
          <div>The page showed: {r.observed}</div>
          {r.blocked.length ? <div>Blocked (the app may reach only itself): {r.blocked.join(", ")}</div> : null}
          {r.screenshot && !shot ? (
            <button class="btn btn-small btn-ghost" data-testid="check-screenshot-button" onClick={() => void screenshotUrl(ctx, version, index).then(setShot)}>
              Show screenshot
            </button>
          ) : null}
          {shot ? <img class="check-screenshot" data-testid="check-screenshot" src={shot} alt={`The page when "${check.name}" failed`} /> : null}
        </div>
      ) : null}
    </li>
  );
}

function CheckForm({ initial, onDone }: { initial: { name: string; body: string; replaces?: string }; onDone: () => void }) {
  const ctx = useCtx();
  const [name, setName] = useState(initial.name);
  const [body, setBody] = useState(initial.body);
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="check-form"
      data-testid="check-form"
      onSubmit={(e) => {
        e.preventDefault();
        setBusy(true);
        void saveCheck(ctx, name.trim(), body, initial.replaces).then((ok) => {
          setBusy(false);
          if (ok) onDone();
        });
      }}
    >
      <input class="input" aria-label="Check name" placeholder="What it checks, e.g. adds a task" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
      <textarea class="input mono" aria-label="Check steps" rows={6} value={body} onInput={(e) => setBody((e.target as HTMLTextAreaElement).value)} />
      <div class="row small muted">
        One step a line: open /path · click · fill … with "…" · select … option "…" · press … key "Enter" · wait · expect [no] … [count N | text "…" | value "…"]. Find
        elements by role button "Name", label "…", placeholder "…", text "…" or testid "…".
      </div>
      <div class="row">
        <button class="btn btn-small" type="submit" disabled={busy || !name.trim() || !body.trim()}>
          Save check
        </button>
        <button class="btn btn-small btn-ghost" type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
