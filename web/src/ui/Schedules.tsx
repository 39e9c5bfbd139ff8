/** Scheduled redeploys inside the deploy dialog: list, create from the form, delete. */
import { useEffect, useState } from "preact/hooks";
import { describeError } from "../actions/context";
import { createSchedule, deleteSchedule, listSchedules } from "../actions/deploy";
import type { DeployTarget, Schedule } from "../api/types";
import { scheduleExpression, type ScheduleKind } from "../state/schedule";
import { shortDate } from "./format";
import { useCtx } from "./hooks";
import { Icon } from "./Icon";

interface Props {
  target: DeployTarget;
  token: string;
  onToggle: (on: boolean) => void;
  /** Receives the function the dialog's main button calls while scheduling is on. */
  bind: (create: () => Promise<void>) => void;
}

export function Schedules({ target, token, onToggle, bind }: Props) {
  const ctx = useCtx();
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  const [on, setOn] = useState(false);
  const [kind, setKind] = useState<ScheduleKind>("daily");
  const [time, setTime] = useState("09:00");
  const [expression, setExpression] = useState("rate(1 day)");
  const [items, setItems] = useState<Schedule[]>([]);
  const [error, setError] = useState<string | null>(null);

  const refresh = (): void => {
    setError(null);
    listSchedules(ctx).then(setItems, () => setItems([]));
  };
  useEffect(refresh, [ctx]);
  const toggle = (next: boolean): void => {
    setOn(next);
    onToggle(next);
  };
  bind(async () => {
    setError(null);
    try {
      await createSchedule(ctx, scheduleExpression(kind, time, expression), target, token);
      toggle(false);
      refresh();
    } catch (err) {
      setError(describeError(err));
      throw err;
    }
  });

  return (
    <>
      <label class="check" for="schedule-toggle">
        <input
          type="checkbox"
          id="schedule-toggle"
          data-testid="schedule-toggle"
          checked={on}
          onChange={(e) => toggle(e.currentTarget.checked)}
        />
        <span>Redeploy on a schedule</span>
      </label>
      {on ? (
        <div class="schedule-form">
          <label class="field" for="schedule-kind">
            <span>How often</span>
            <select
              class="select"
              id="schedule-kind"
              data-testid="schedule-kind"
              value={kind}
              onChange={(e) => setKind(e.currentTarget.value as ScheduleKind)}
            >
              <option value="daily">Every day at…</option>
              <option value="hourly">Every hour</option>
              <option value="custom">Custom (AWS rate or cron expression)</option>
            </select>
          </label>
          {kind === "daily" ? (
            <label class="field" for="schedule-time">
              <span>Time ({zone})</span>
              <input
                class="input"
                type="time"
                id="schedule-time"
                data-testid="schedule-time"
                value={time}
                onInput={(e) => setTime(e.currentTarget.value)}
              />
            </label>
          ) : null}
          {kind === "custom" ? (
            <>
              <input
                class="input"
                id="schedule-expression"
                data-testid="schedule-expression"
                aria-label="Schedule expression"
                spellcheck={false}
                value={expression}
                onInput={(e) => setExpression(e.currentTarget.value)}
              />
              <p class="muted small">For example rate(7 days) or cron(0 9 * * ? *); cron times are in UTC.</p>
            </>
          ) : null}
          <p class="muted small" data-testid="schedule-summary">
            {kind === "daily"
              ? `Deploys the latest version every day at ${time} your time (${scheduleExpression(kind, time, expression)} in UTC).`
              : kind === "hourly"
                ? "Deploys the latest version every hour."
                : "Each run deploys the latest version."}
          </p>
        </div>
      ) : null}
      {error ? <div class="turn-error">{error}</div> : null}
      <div class="schedules" data-testid="schedule-list">
        {items.length ? <div class="schedules-title small muted">Schedules</div> : null}
        {items.map((s) => {
          const last = s.runs.at(-1);
          return (
            <div key={s.schedule_id} class="schedule" data-testid="schedule-item">
              <span class="schedule-expr">{s.expression}</span>
              <span class="muted small">
                {s.target} · next {shortDate(s.next_run)}
                {last ? ` · last ${last.state}` : ""}
              </span>
              <span class="spacer" />
              <button
                class="icon-btn"
                aria-label="Delete schedule"
                title="Delete schedule"
                onClick={() =>
                  void deleteSchedule(ctx, s.schedule_id).then(refresh, (err: unknown) => setError(describeError(err)))
                }
              >
                <Icon name="x" size={14} />
              </button>
            </div>
          );
        })}
      </div>
    </>
  );
}
