/** The changes between any two versions, file by file (the diff code loads on first use). */
import { useEffect, useRef, useState } from "preact/hooks";
import { describeError } from "../actions/context";
import type { FileDiff } from "../state/diff";
import { onDialogClosed, useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";

type Loaded = { kind: "loading" } | { kind: "ready"; files: FileDiff[] } | { kind: "error"; text: string };

export function DiffDialog() {
  const ctx = useCtx();
  const compare = useApp((s) => s.compare);
  const versions = useApp((s) => s.versions);
  const dialog = useRef<HTMLDialogElement>(null);
  const [loaded, setLoaded] = useState<Loaded>({ kind: "loading" });

  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (compare && !el.open) el.showModal();
    if (!compare && el.open) el.close();
  }, [compare]);

  useEffect(() => {
    const project = ctx.store.get().project;
    if (!compare || !project) return;
    let live = true;
    setLoaded({ kind: "loading" });
    Promise.all([
      import("../state/diff"),
      ctx.api.version(project.project_id, compare.from),
      ctx.api.version(project.project_id, compare.to),
    ]).then(
      ([{ diffFilesByLine }, a, b]) => live && setLoaded({ kind: "ready", files: diffFilesByLine(a.files, b.files) }),
      (err: unknown) => live && setLoaded({ kind: "error", text: describeError(err) }),
    );
    return () => {
      live = false;
    };
  }, [compare?.from, compare?.to]);

  const pick = (which: "from" | "to", value: string): void => {
    if (compare) ctx.store.set({ compare: { ...compare, [which]: Number(value) } });
  };
  const numbers = versions.map((v) => v.version);
  return (
    <dialog class="dialog diff-dialog" data-testid="diff-dialog" ref={dialog} aria-labelledby="diff-title" onClose={onDialogClosed(() => ctx.store.set({ compare: null }))}>
      <div class="dialog-head">
        <h2 id="diff-title">Compare versions</h2>
        <span class="spacer" />
        <button class="icon-btn" aria-label="Close" onClick={() => ctx.store.set({ compare: null })}>
          <Icon name="x" />
        </button>
      </div>
      {compare ? (
        <div class="diff-pick">
          <VersionPick label="From" testid="diff-from" value={compare.from} numbers={numbers} onPick={(v) => pick("from", v)} />
          <VersionPick label="to" testid="diff-to" value={compare.to} numbers={numbers} onPick={(v) => pick("to", v)} />
        </div>
      ) : null}
      <div class="diff-body" data-testid="diff-body">
        {loaded.kind === "loading" ? <p class="muted small">Loading…</p> : null}
        {loaded.kind === "error" ? <p class="turn-error">{loaded.text}</p> : null}
        {loaded.kind === "ready" && loaded.files.length === 0 ? <p class="muted small">These versions have the same files.</p> : null}
        {loaded.kind === "ready"
          ? loaded.files.map((f) => (
              <section key={f.path} class="diff-file" data-testid="diff-file" data-path={f.path}>
                <h3 class="diff-path">
                  <span>{f.path}</span>
                  <span class="muted small">
                    {f.status === "added" ? "new file" : f.status === "removed" ? "deleted" : ""} +{f.added} −{f.removed}
                  </span>
                </h3>
                <pre class="diff-lines">
                  {f.lines.map((l, i) => (
                    <div key={i} class={`diff-line ${l.kind}`} data-kind={l.kind}>
                      <span class="diff-sign" aria-hidden="true">
                        {l.kind === "add" ? "+" : l.kind === "del" ? "−" : " "}
                      </span>
                      {l.kind === "add" ? <span class="sr-only">added: </span> : l.kind === "del" ? <span class="sr-only">removed: </span> : null}
                      {l.text}
                    </div>
                  ))}
                </pre>
              </section>
            ))
          : null}
      </div>
    </dialog>
  );
}

function VersionPick(props: { label: string; testid: string; value: number; numbers: number[]; onPick: (value: string) => void }) {
  return (
    <label>
      {props.label}{" "}
      <select class="select" data-testid={props.testid} value={props.value} onChange={(e) => props.onPick(e.currentTarget.value)}>
        {props.numbers.map((n) => (
          <option key={n} value={n}>
            v{n}
          </option>
        ))}
      </select>
    </label>
  );
}
