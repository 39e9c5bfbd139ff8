/** The prompt box: framework and model pickers, limits shown before sending, Enter sends. */
import type { RefObject } from "preact";
import { useState } from "preact/hooks";
import { cancel, send } from "../actions/generate";
import { FRAMEWORKS, type Framework } from "../api/types";
import { isBusy, isStreaming } from "../state/app";
import { useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";

const FRAMEWORK_LABELS: Record<Framework, string> = {
  react: "React",
  vue: "Vue",
  vanilla: "Vanilla JS",
  python: "Python",
};

/** The server's default `KILN_MAX_PROMPT_CHARS`: no API field carries it yet. */
export const PROMPT_LIMIT = 20_000;

/** Why a prompt cannot be sent as it is, or null when it can. */
export function promptProblem(text: string, limit = PROMPT_LIMIT): string | null {
  if (!text.trim()) return "Type what you want first: the prompt is empty.";
  if (text.length > limit) {
    return `This prompt is ${text.length.toLocaleString("en")} characters; the limit is ${limit.toLocaleString("en")}. Shorten it to send.`;
  }
  return null;
}

export function Composer({ input }: { input: RefObject<HTMLTextAreaElement | null> }) {
  const ctx = useCtx();
  const project = useApp((s) => s.project);
  const framework = useApp((s) => s.framework);
  const busy = useApp(isBusy);
  const streaming = useApp(isStreaming);
  const providers = useApp((s) => s.providers);
  const provider = useApp((s) => s.provider);
  const [hint, setHint] = useState<string | null>(null);
  const used = providers.find((p) => (provider ? p.name === provider : p.default));
  const fresh = useApp((s) => s.turns.length === 0);

  const submit = async (): Promise<void> => {
    const el = input.current;
    if (!el) return;
    const problem = promptProblem(el.value);
    setHint(problem);
    if (problem) {
      el.focus();
      return;
    }
    if (await send(ctx, el.value)) el.value = "";
  };

  return (
    <div class="composer">
      {fresh && used && !used.is_model ? (
        <p class="notice compact" data-testid="no-model-notice" role="note">
          <Icon name="alert" size={14} />
          <span>No AI model is connected: kiln answers with offline starter templates, which follow your prompt only loosely.</span>
        </p>
      ) : null}
      <textarea
        ref={input}
        class="prompt-input"
        data-testid="prompt-input"
        rows={3}
        placeholder={project ? "Ask for a change…" : "Describe the app you want…"}
        aria-label="Prompt"
        aria-describedby="prompt-hint"
        aria-invalid={hint !== null}
        onKeyDown={(e) => {
          if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void submit();
          }
        }}
        // Flag a prompt over the limit while it is typed, not after it is sent.
        onInput={(e) => {
          const value = e.currentTarget.value;
          setHint(value.length > PROMPT_LIMIT ? promptProblem(value) : null);
        }}
      />
      <div class="prompt-hint" data-testid="prompt-hint" id="prompt-hint" role="status" aria-live="polite" hidden={!hint}>
        {hint ?? ""}
      </div>
      <div class="composer-row">
        <select
          class="select"
          data-testid="framework-select"
          aria-label="Framework"
          value={project?.framework ?? framework}
          disabled={project !== null}
          title={project ? "A project keeps the framework it was created with" : "Framework"}
          onChange={(e) => ctx.store.set({ framework: e.currentTarget.value as Framework })}
        >
          {FRAMEWORKS.map((f) => (
            <option key={f} value={f}>
              {FRAMEWORK_LABELS[f]}
            </option>
          ))}
        </select>
        <select
          class="select"
          data-testid="provider-select"
          aria-label="Model"
          value={provider}
          onChange={(e) => ctx.store.set({ provider: e.currentTarget.value })}
        >
          <option value="">Default model</option>
          {providers.map((p) => {
            const label = p.is_model ? `${p.name}${p.default_model ? ` · ${p.default_model}` : ""}` : `${p.name} (offline templates)`;
            return (
              <option key={p.name} value={p.name} disabled={!p.configured}>
                {p.configured ? label : `${label} (not configured)`}
              </option>
            );
          })}
        </select>
        <button
          class="btn btn-icon"
          data-testid="cancel-button"
          title="Stop this generation"
          aria-label="Stop"
          hidden={!streaming}
          onClick={() => void cancel(ctx)}
        >
          <Icon name="stop" />
        </button>
        <button
          class="btn btn-primary btn-icon"
          data-testid="send-button"
          title="Send (Enter; Shift+Enter for a new line)"
          aria-label="Send"
          disabled={busy}
          onClick={() => void submit()}
        >
          <Icon name="send" />
        </button>
      </div>
    </div>
  );
}
