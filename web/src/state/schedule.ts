/** Schedules in a person's words: "every day at 09:00" in their timezone, as an AWS expression. */

export type ScheduleKind = "daily" | "hourly" | "custom";

/**
 * The EventBridge expression for a daily run at `time` ("HH:MM") local time on `day`
 * (today by default): EventBridge reads cron in UTC, so the hour is converted.
 */
export function dailyCron(time: string, day: Date = new Date()): string {
  const [h, m] = time.split(":").map((x) => Number.parseInt(x, 10));
  const at = new Date(day.getFullYear(), day.getMonth(), day.getDate(), h ?? 9, m ?? 0);
  return `cron(${at.getUTCMinutes()} ${at.getUTCHours()} * * ? *)`;
}

export function scheduleExpression(kind: ScheduleKind, time: string, custom: string): string {
  if (kind === "daily") return dailyCron(time);
  if (kind === "hourly") return "rate(1 hour)";
  return custom.trim();
}
