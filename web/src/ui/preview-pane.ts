/** Right panel: preview with device widths, and the problems / terminal tabs below it. */
import type { AppState, Problem } from "../state/app";
import type { Store } from "../state/store";
import { formatProblem, type Actions } from "./actions";
import { h, icon, replaceChildren } from "./dom";
import type { BufferedTerminal } from "./terminal";

const DEVICES = [
  { key: "full", label: "Full width", width: null, icon: "monitor" },
  { key: "tablet", label: "Tablet (768 px)", width: 768, icon: "tablet" },
  { key: "phone", label: "Phone (375 px)", width: 375, icon: "phone" },
] as const;

export function mountPreviewPane(
  root: HTMLElement,
  store: Store<AppState>,
  actions: Actions,
  terminal: BufferedTerminal,
): HTMLElement {
  const status = h("span", { class: "preview-status muted small", testid: "preview-status" });
  const devices = h("div", { class: "segmented", role: "group", "aria-label": "Device width" });
  for (const d of DEVICES) {
    const btn = h("button", { class: `seg${d.width === null ? " active" : ""}`, title: d.label, "aria-label": d.label, testid: `device-${d.key}` }, icon(d.icon, 15));
    btn.addEventListener("click", () => {
      for (const b of devices.children) b.classList.remove("active");
      btn.classList.add("active");
      frame.classList.toggle("framed", d.width !== null);
      actions.preview.setWidth(d.width);
    });
    devices.append(btn);
  }
  const frame = h("div", { class: "preview-frame", testid: "preview-frame-container" });
  const placeholder = h("div", { class: "preview-empty" }, h("div", { class: "empty-mark" }, icon("monitor", 22)), h("p", {}, "Your app runs here."));
  const stage = h("div", { class: "preview-stage" }, frame, placeholder);

  const problemsTab = h("button", { class: "tab active", testid: "problems-tab" }, "Problems");
  const terminalTab = h("button", { class: "tab", testid: "terminal-tab" }, "Terminal");
  const clear = h("button", { class: "btn btn-small btn-ghost", title: "Clear problems" }, "Clear");
  const problems = h("div", { class: "problems", testid: "problems-panel" });
  const term = h("div", { class: "terminal", testid: "terminal", hidden: true });
  const showTab = (which: "problems" | "terminal"): void => {
    problemsTab.classList.toggle("active", which === "problems");
    terminalTab.classList.toggle("active", which === "terminal");
    problems.hidden = which !== "problems";
    term.hidden = which !== "terminal";
    clear.hidden = which !== "problems";
    if (which === "terminal") void terminal.open(term);
  };
  problemsTab.addEventListener("click", () => showTab("problems"));
  terminalTab.addEventListener("click", () => showTab("terminal"));
  clear.addEventListener("click", () => actions.clearProblems());
  terminal.onWrite(() => terminalTab.classList.add("has-output"));

  root.append(
    h("div", { class: "panel-head" }, h("span", { class: "panel-title" }, "Preview"), status, h("span", { class: "spacer" }), devices),
    stage,
    h("div", { class: "dock" }, h("div", { class: "dock-tabs" }, problemsTab, terminalTab, h("span", { class: "spacer" }), clear), problems, term),
  );

  store.watch(["previewStatus"], (s) => {
    status.textContent = s.previewStatus;
  });
  store.watch(["project", "version", "job"], (s) => {
    const hasApp = s.project !== null && (s.version ?? 0) > 0;
    const live = s.job?.livePreview ?? false;
    placeholder.hidden = hasApp || live;
    frame.hidden = !(hasApp || live);
    const p = placeholder.querySelector("p");
    if (p) p.textContent = s.job && !live ? "The preview starts when the first version is ready…" : "Your app runs here.";
  });
  store.watch(["problems", "job"], (s) => {
    problemsTab.textContent = s.problems.length ? `Problems (${s.problems.length})` : "Problems";
    problemsTab.classList.toggle("has-problems", s.problems.length > 0);
    if (s.problems.length === 0) {
      replaceChildren(problems, h("div", { class: "problems-empty muted small" }, "No problems detected."));
      return;
    }
    replaceChildren(problems, ...s.problems.map((p) => drawProblem(p, actions, s.job !== null)));
  });
  return frame;
}

function drawProblem(problem: Problem, actions: Actions, busy: boolean): HTMLElement {
  const where = problem.file ? `${problem.file}${problem.line ? `:${problem.line}` : ""}${problem.column ? `:${problem.column}` : ""}` : "";
  const fix = h("button", { class: "btn btn-small", testid: "fix-it", title: "Ask the model to fix this", disabled: busy }, icon("wrench", 13), "Fix it");
  fix.addEventListener("click", () => actions.fix(problem));
  // An outage is not the app's fault: the model cannot fix it, a retry can.
  const action =
    problem.code === "registry_unavailable"
      ? h("button", { class: "btn btn-small", testid: "retry-preview", title: "Build the preview again" }, icon("refresh", 13), "Retry")
      : fix;
  if (action !== fix) {
    action.addEventListener("click", () => {
      actions.clearProblems();
      actions.preview.retry();
    });
  }
  return h(
    "div",
    { class: `problem ${problem.source}`, testid: "problem", title: formatProblem(problem) },
    h("span", { class: `problem-source ${problem.source}` }, problem.source),
    h("div", { class: "problem-body" }, where ? h("button", { class: "problem-where", onclick: () => problem.file && actions.select(problem.file) }, where) : null, h("span", { class: "problem-message" }, problem.message)),
    action,
  );
}
