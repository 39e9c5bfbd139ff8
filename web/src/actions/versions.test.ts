import { describe, expect, it } from "vitest";
import type { VersionSummary } from "../api/types";
import { pendingBuild } from "./versions";

const v = (version: number, build: VersionSummary["build"], extra: Partial<VersionSummary> = {}): VersionSummary => ({
  version,
  build,
  files: 1,
  charged: true,
  created_at: "2026-01-01T00:00:00Z",
  ...extra,
});

describe("watching the gate", () => {
  it("waits while a version is still being checked", () => {
    expect(pendingBuild([v(2, "unknown"), v(1, "green")])).toBe(true);
    expect(pendingBuild([v(2, "green"), v(1, "green")])).toBe(false);
  });

  it("keeps waiting for the fix round's version after a red one", () => {
    expect(pendingBuild([v(1, "red", { fix_job_id: "j_fix" })])).toBe(true);
    expect(pendingBuild([v(1, "red")])).toBe(false);
    expect(pendingBuild([v(2, "green", { fix_of: 1 }), v(1, "red", { fix_job_id: "j_fix" })])).toBe(false);
  });
});
