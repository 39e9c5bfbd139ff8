/** Project settings popover: the budget in US dollars, what was spent and refunded. */
import { useEffect, useRef } from "preact/hooks";
import { refreshProject, setBudget } from "../actions/projects";
import { useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";

const usd = (x: number | undefined | null): string => `$${(x ?? 0).toFixed(x && x < 0.01 && x > 0 ? 4 : 2)}`;

export function Settings() {
  const ctx = useCtx();
  const open = useApp((s) => s.popover === "settings");
  const disabled = useApp((s) => !s.project || !s.version);
  return (
    <div class="popover-wrap" data-popover="settings">
      <button
        class="btn btn-ghost btn-icon"
        data-testid="settings-button"
        title="Project settings and budget"
        aria-label="Project settings"
        aria-haspopup="dialog"
        aria-expanded={open}
        disabled={disabled}
        onClick={() => ctx.store.set({ popover: open ? null : "settings" })}
      >
        <Icon name="gear" />
      </button>
      {open ? <SettingsPopover /> : null}
    </div>
  );
}

function SettingsPopover() {
  const ctx = useCtx();
  const project = useApp((s) => s.project);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => void refreshProject(ctx), [ctx]);
  // The field follows the project's budget unless the user is typing in it.
  useEffect(() => {
    const el = input.current;
    if (!el || !project || document.activeElement === el) return;
    el.value = project.budget_usd === null || project.budget_usd === undefined ? "" : String(project.budget_usd);
  }, [project]);
  const saveBudget = (): void => {
    const el = input.current;
    const value = Number.parseFloat(el?.value ?? "");
    if (!Number.isFinite(value) || value < 0) {
      el?.focus();
      return;
    }
    void setBudget(ctx, value);
  };
  const u = project?.usage ?? {};
  const budget = project?.budget_usd;
  return (
    <div class="popover" role="dialog" aria-label="Project settings" data-testid="settings-popover">
      <div class="popover-body">
        <label class="small" for="budget-input">
          Budget (USD)
        </label>
        <div class="row">
          <input
            ref={input}
            id="budget-input"
            class="input"
            type="number"
            min="0"
            step="0.5"
            placeholder="No limit"
            data-testid="budget-input"
            aria-label="Budget in US dollars"
            onKeyDown={(e) => e.key === "Enter" && saveBudget()}
          />
          <button class="btn btn-small btn-primary" data-testid="budget-save" onClick={saveBudget}>
            Save
          </button>
          <button class="btn btn-small btn-ghost" data-testid="budget-clear" onClick={() => void setBudget(ctx, null)}>
            No limit
          </button>
        </div>
        {project ? (
          <div class="small" data-testid="budget-spent">
            <div>
              Spent: {usd(u.cost_usd)}
              {budget !== null && budget !== undefined ? ` of ${usd(budget)}` : " (no limit)"}
            </div>
            {u.uncharged_usd ? <div class="muted">Not charged (failed builds): {usd(u.uncharged_usd)}</div> : null}
          </div>
        ) : null}
      </div>
    </div>
  );
}
