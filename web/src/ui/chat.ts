/** Left panel: the conversation with the model and the prompt box. */
import { FRAMEWORKS, type Framework } from "../api/types";
import { isBusy, isStreaming, type AppState, type Turn } from "../state/app";
import { keptVersion } from "../state/health";
import type { Store } from "../state/store";
import type { Actions } from "./actions";
import { formatUsage, h, icon, replaceChildren } from "./dom";

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

const EXAMPLES = [
  "A todo list with filters and local storage",
  "A pomodoro timer with a progress ring",
  "A markdown note editor with live preview",
];

export function mountChat(root: HTMLElement, store: Store<AppState>, actions: Actions): void {
  const list = h("div", { class: "turns", testid: "turns" });
  const prompt = h("textarea", {
    class: "prompt-input",
    testid: "prompt-input",
    rows: 3,
    placeholder: "Describe the app you want…",
    "aria-label": "Prompt",
  });
  const framework = h("select", { class: "select", testid: "framework-select", "aria-label": "Framework" });
  for (const f of FRAMEWORKS) framework.append(h("option", { value: f }, FRAMEWORK_LABELS[f]));
  const provider = h("select", { class: "select", testid: "provider-select", "aria-label": "Model" });
  const send = h("button", { class: "btn btn-primary btn-icon", testid: "send-button", title: "Send (Enter; Shift+Enter for a new line)", "aria-label": "Send" }, icon("send"));
  const stop = h("button", { class: "btn btn-icon", testid: "cancel-button", title: "Stop this generation", "aria-label": "Stop" }, icon("stop"));

  const hint = h("div", { class: "prompt-hint", testid: "prompt-hint", id: "prompt-hint", role: "status", "aria-live": "polite" });
  prompt.setAttribute("aria-describedby", "prompt-hint");
  const showHint = (text: string | null): void => {
    hint.textContent = text ?? "";
    hint.hidden = !text;
    prompt.toggleAttribute("aria-invalid", text !== null);
  };
  showHint(null);

  const submit = async (): Promise<void> => {
    const text = prompt.value;
    const problem = promptProblem(text);
    showHint(problem);
    if (problem) {
      prompt.focus();
      return;
    }
    if (await actions.send(text)) prompt.value = "";
  };
  send.addEventListener("click", () => void submit());
  stop.addEventListener("click", () => void actions.cancel());
  prompt.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      void submit();
    }
  });
  // Flag a prompt over the limit while it is typed, not after it is sent.
  prompt.addEventListener("input", () => {
    const over = prompt.value.length > PROMPT_LIMIT;
    showHint(over ? promptProblem(prompt.value) : null);
  });
  framework.addEventListener("change", () => store.set({ framework: framework.value as Framework }));
  provider.addEventListener("change", () => store.set({ provider: provider.value }));

  const composer = h(
    "div",
    { class: "composer" },
    prompt,
    hint,
    h("div", { class: "composer-row" }, framework, provider, stop, send),
  );
  const exportChat = h("button", { class: "btn btn-small btn-ghost", testid: "export-chat", title: "Download this chat as Markdown" }, icon("download", 13), "Export");
  exportChat.addEventListener("click", () => void actions.exportChat());
  const kept = h("div", { class: "kept-banner", testid: "kept-banner", role: "status", hidden: true });
  root.append(
    h("div", { class: "panel-head" }, h("span", { class: "panel-title" }, "Chat"), h("span", { class: "spacer" }), exportChat),
    list,
    kept,
    composer,
  );

  const turnActions: TurnActions = {
    retry: (turn) => actions.retry(turn),
    raiseBudget: () => store.set({ popover: "settings" }),
  };
  store.watch(["turns", "project", "job"], (s) => drawTurns(list, s, turnActions, (text) => {
    prompt.value = text;
    prompt.focus();
  }));
  store.watch(["project", "versions", "version", "job"], (s) => {
    exportChat.disabled = !s.project || s.turns.length === 0;
    const k = s.job ? null : keptVersion(s.project, s.versions);
    kept.hidden = !k;
    if (!k) return;
    const open = h("button", { class: "btn btn-small", testid: "open-last-green", disabled: s.version === k.kept }, s.version === k.kept ? `Showing v${k.kept}` : `Open v${k.kept}`);
    open.addEventListener("click", () => void actions.viewVersion(k.kept));
    replaceChildren(kept, icon("alert", 14), h("span", {}, `${k.text}. Your next prompt builds on v${k.kept}.`), open);
  });
  store.watch(["job", "project", "framework"], (s) => {
    send.disabled = isBusy(s);
    stop.hidden = !isStreaming(s);
    framework.value = s.project?.framework ?? s.framework;
    framework.disabled = s.project !== null;
    framework.title = s.project ? "A project keeps the framework it was created with" : "Framework";
    prompt.placeholder = s.project ? "Ask for a change…" : "Describe the app you want…";
  });
  store.watch(["providers", "provider"], (s) => {
    const options = [h("option", { value: "" }, "Default model")];
    for (const p of s.providers) {
      const label = p.is_model ? `${p.name}${p.default_model ? ` · ${p.default_model}` : ""}` : `${p.name} (offline templates)`;
      options.push(h("option", { value: p.name, disabled: !p.configured }, p.configured ? label : `${label} (not configured)`));
    }
    replaceChildren(provider, ...options);
    provider.value = s.provider;
  });
}

interface TurnActions {
  retry: (turn: Turn) => void;
  raiseBudget: () => void;
}

function drawTurns(list: HTMLElement, s: AppState, acts: TurnActions, useExample: (text: string) => void): void {
  const stick = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  if (s.turns.length === 0) {
    replaceChildren(
      list,
      h(
        "div",
        { class: "empty-chat" },
        h("div", { class: "empty-mark" }, icon("sparkles", 22)),
        h("h2", {}, s.project ? "No messages yet" : "What should we build?"),
        h("p", {}, "Describe an app in plain words. kiln writes the files, runs them in the preview and keeps every version."),
        h(
          "div",
          { class: "examples" },
          ...EXAMPLES.map((text) => h("button", { class: "example", onclick: () => useExample(text) }, text)),
        ),
      ),
    );
    return;
  }
  const firstNotice = s.turns.findIndex((t) => t.notice);
  const busy = s.job !== null;
  replaceChildren(list, ...s.turns.map((t, i) => drawTurn(t, i > firstNotice, busy, acts)));
  if (stick) list.scrollTop = list.scrollHeight;
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

/** A version made without the model (hand edit, restore): one quiet line. */
function drawEditTurn(turn: Turn): HTMLElement {
  return h(
    "div",
    { class: "turn event", testid: "turn", "data-status": turn.status },
    icon(turn.prompt.startsWith("Restored") ? "history" : turn.prompt.startsWith("Fix round") ? "wrench" : "save", 13),
    h("span", { class: "event-text" }, turn.prompt),
    h("span", { class: "turn-status", testid: "turn-status" }, statusLabel(turn)),
  );
}

/** A failed turn's code and message, with Retry (and a way to raise the budget). */
function drawError(turn: Turn, busy: boolean, acts: TurnActions): HTMLElement {
  const retry = h("button", { class: "btn btn-small", testid: "retry-button", disabled: busy }, icon("refresh", 13), "Retry");
  retry.addEventListener("click", () => acts.retry(turn));
  const budget = turn.errorCode === "budget_exceeded"
    ? h("button", { class: "btn btn-small btn-ghost", testid: "raise-budget" }, "Raise the budget")
    : null;
  budget?.addEventListener("click", (e) => {
    e.stopPropagation();
    acts.raiseBudget();
  });
  return h(
    "div",
    { class: "turn-error", role: "alert", testid: "turn-error" },
    turn.errorCode ? h("code", { class: "error-code", testid: "error-code" }, turn.errorCode) : null,
    h("span", {}, turn.error ?? "Failed."),
    turn.status === "failed" ? h("div", { class: "error-actions" }, retry, budget) : null,
  );
}

function drawTurn(turn: Turn, repeatNotice: boolean, busy: boolean, acts: TurnActions): HTMLElement {
  if (turn.jobId === null && turn.status === "succeeded") return drawEditTurn(turn);
  const running = turn.status === "queued" || turn.status === "running" || turn.status === "sending";
  const meta: (string | null)[] = [turn.provider, turn.model];
  return h(
    "div",
    { class: "turn", testid: "turn", "data-status": turn.status },
    h("div", { class: "bubble user" }, turn.prompt),
    h(
      "div",
      { class: "reply" },
      turn.notice
        ? h(
            "div",
            { class: `notice${repeatNotice ? " compact" : ""}`, testid: "notice", role: "note", title: turn.notice },
            icon("alert", 14),
            h("span", {}, repeatNotice ? "Offline starter template, not an AI model" : turn.notice),
          )
        : null,
      turn.plan ? h("div", { class: "plan" }, turn.plan.trim()) : null,
      turn.files.length
        ? h("div", { class: "touched" }, ...turn.files.slice(0, 12).map((f) => h("span", { class: "chip" }, f)), turn.files.length > 12 ? h("span", { class: "chip" }, `+${turn.files.length - 12}`) : null)
        : null,
      turn.progress.length
        ? h("ul", { class: "progress-lines", testid: "progress-lines" }, ...turn.progress.map((line) => h("li", {}, line)))
        : null,
      turn.error || turn.status === "failed" ? drawError(turn, busy, acts) : null,
      h(
        "div",
        { class: "turn-foot" },
        h("span", { class: `status-dot ${turn.status}` }),
        h("span", { class: "turn-status", testid: "turn-status" }, running ? h("span", { class: "shimmer" }, statusLabel(turn)) : statusLabel(turn)),
        turn.usage ? h("span", { class: "usage", testid: "usage" }, formatUsage(turn.usage)) : null,
        turn.charged === false ? h("span", { class: "tag muted", testid: "not-charged", title: "Its version failed the build gate; the cost was refunded" }, "not charged") : null,
        meta.some(Boolean) ? h("span", { class: "muted" }, meta.filter(Boolean).join(" · ")) : null,
      ),
    ),
  );
}
