import { afterEach, describe, expect, it, vi } from "vitest";
import { dailyCron, scheduleExpression } from "./schedule";

describe("dailyCron", () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it("writes a Paris morning as the UTC hour EventBridge runs it at, winter and summer", () => {
    vi.stubEnv("TZ", "Europe/Paris");
    expect(dailyCron("09:30", new Date(2026, 0, 15))).toBe("cron(30 8 * * ? *)");
    expect(dailyCron("09:30", new Date(2026, 6, 15))).toBe("cron(30 7 * * ? *)");
  });

  it("crosses midnight when the timezone is ahead of UTC", () => {
    vi.stubEnv("TZ", "Asia/Tokyo");
    expect(dailyCron("06:00", new Date(2026, 0, 15))).toBe("cron(0 21 * * ? *)");
  });
});

describe("scheduleExpression", () => {
  it("is an hourly rate, or the expression typed, for the other kinds", () => {
    expect(scheduleExpression("hourly", "09:00", "")).toBe("rate(1 hour)");
    expect(scheduleExpression("custom", "09:00", "  rate(7 days) ")).toBe("rate(7 days)");
  });
});
