/** Project settings popover: the budget in US dollars, what was spent and refunded. */
import type { AppState } from "../state/app";
import type { Store } from "../state/store";
import type { Actions } from "./actions";
import { h, icon, replaceChildren } from "./dom";

const usd = (x: number | undefined | null): string => `$${(x ?? 0).toFixed(x && x < 0.01 && x > 0 ? 4 : 2)}`;

export function mountSettings(store: Store<AppState>, actions: Actions): HTMLElement {
  const button = h("button", { class: "btn btn-ghost btn-icon", testid: "settings-button", title: "Project settings and budget", "aria-label": "Project settings", "aria-haspopup": "dialog" }, icon("gear"));
  const input = h("input", { class: "input", type: "number", min: "0", step: "0.5", placeholder: "No limit", testid: "budget-input", "aria-label": "Budget in US dollars" });
  const save = h("button", { class: "btn btn-small btn-primary", testid: "budget-save" }, "Save");
  const clear = h("button", { class: "btn btn-small btn-ghost", testid: "budget-clear" }, "No limit");
  const spend = h("div", { class: "small", testid: "budget-spent" });
  const pop = h(
    "div",
    { class: "popover", role: "dialog", "aria-label": "Project settings", testid: "settings-popover", hidden: true },
    h("div", { class: "popover-body" }, h("label", { class: "small" }, "Budget (USD)"), h("div", { class: "row" }, input, save, clear), spend),
  );

  save.addEventListener("click", () => {
    const value = Number.parseFloat(input.value);
    if (!Number.isFinite(value) || value < 0) {
      input.focus();
      return;
    }
    void actions.setBudget(value);
  });
  clear.addEventListener("click", () => void actions.setBudget(null));
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter") save.click();
  });
  button.addEventListener("click", (e) => {
    e.stopPropagation();
    store.set({ popover: store.get().popover === "settings" ? null : "settings" });
  });
  store.watch(["popover"], (s) => {
    const open = s.popover === "settings";
    if (open && pop.hidden) void actions.refreshProject();
    pop.hidden = !open;
  });
  store.watch(["project", "version"], (s) => {
    button.disabled = !s.project || !s.version;
    const p = s.project;
    if (!p) return;
    if (document.activeElement !== input) input.value = p.budget_usd === null || p.budget_usd === undefined ? "" : String(p.budget_usd);
    const u = p.usage ?? {};
    replaceChildren(
      spend,
      h("div", {}, `Spent: ${usd(u.cost_usd)}`, p.budget_usd !== null && p.budget_usd !== undefined ? ` of ${usd(p.budget_usd)}` : " (no limit)"),
      u.uncharged_usd ? h("div", { class: "muted" }, `Not charged (failed builds): ${usd(u.uncharged_usd)}`) : null,
    );
  });
  return h("div", { class: "popover-wrap" }, button, pop);
}
