/** Scheduled redeploys inside the deploy dialog: list, create from the form, delete. */
import type { DeployTarget, Schedule } from "../api/types";
import type { AppState } from "../state/app";
import type { Store } from "../state/store";
import { describeError, type Actions } from "./actions";
import { h, icon, replaceChildren } from "./dom";

export interface ScheduleForm {
  target(): DeployTarget;
  token(): string;
}

export interface SchedulesView {
  refresh(): void;
  create(): Promise<void>;
  readonly enabled: () => boolean;
  onToggle(cb: (on: boolean) => void): void;
}

export function mountSchedules(root: HTMLElement, store: Store<AppState>, actions: Actions, form: ScheduleForm): SchedulesView {
  const toggle = h("input", { type: "checkbox", id: "schedule-toggle", testid: "schedule-toggle" });
  const listeners: ((on: boolean) => void)[] = [];
  const expression = h("input", { class: "input", id: "schedule-expression", testid: "schedule-expression", value: "rate(1 day)", spellcheck: "false", hidden: true });
  const help = h("p", { class: "muted small", hidden: true }, "rate(1 hour), rate(7 days) or cron(0 9 * * ? *). Each run deploys the latest version.");
  const list = h("div", { class: "schedules", testid: "schedule-list" });
  const error = h("div", { class: "turn-error", hidden: true });
  toggle.addEventListener("change", () => {
    expression.hidden = !toggle.checked;
    help.hidden = !toggle.checked;
    for (const cb of listeners) cb(toggle.checked);
  });
  root.append(
    h("label", { class: "check", for: "schedule-toggle" }, toggle, h("span", {}, "Redeploy on a schedule")),
    expression,
    help,
    error,
    list,
  );

  const draw = (items: Schedule[]): void => {
    if (items.length === 0) {
      replaceChildren(list);
      return;
    }
    replaceChildren(
      list,
      h("div", { class: "schedules-title small muted" }, "Schedules"),
      ...items.map((s) => {
        const del = h("button", { class: "icon-btn", "aria-label": "Delete schedule", title: "Delete schedule" }, icon("x", 14));
        del.addEventListener("click", async () => {
          const pid = store.get().project?.project_id;
          if (!pid) return;
          try {
            await actions.api.deleteSchedule(pid, s.schedule_id);
            refresh();
          } catch (err) {
            showError(err);
          }
        });
        const last = s.runs.at(-1);
        return h(
          "div",
          { class: "schedule", testid: "schedule-item" },
          h("span", { class: "schedule-expr" }, s.expression),
          h("span", { class: "muted small" }, `${s.target} · next ${shortDate(s.next_run)}${last ? ` · last ${last.state}` : ""}`),
          h("span", { class: "spacer" }),
          del,
        );
      }),
    );
  };
  const showError = (err: unknown): void => {
    error.hidden = false;
    error.textContent = describeError(err);
  };
  const refresh = (): void => {
    error.hidden = true;
    const pid = store.get().project?.project_id;
    if (!pid) return;
    actions.api.schedules(pid).then(draw, () => draw([]));
  };

  return {
    refresh,
    enabled: () => toggle.checked,
    onToggle: (cb) => void listeners.push(cb),
    async create() {
      const pid = store.get().project?.project_id;
      if (!pid) return;
      error.hidden = true;
      try {
        const token = form.token();
        await actions.api.createSchedule(pid, {
          expression: expression.value.trim(),
          target: form.target(),
          ...(token ? { token } : {}),
        });
        toggle.checked = false;
        toggle.dispatchEvent(new Event("change"));
        refresh();
      } catch (err) {
        showError(err);
        throw err;
      }
    },
  };
}

function shortDate(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" });
}
