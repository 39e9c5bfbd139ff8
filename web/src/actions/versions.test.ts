import { describe, expect, it } from "vitest";
import type { VersionSummary } from "../api/types";
import { gateJob, pendingBuild } from "./versions";

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

  it("hears the end of the fix round after a red version, else of the newest unknown build", () => {
    expect(gateJob([v(2, "red", { fix_job_id: "j_fix", build_job_id: "j_b2" }), v(1, "green")])).toBe("j_fix");
    expect(gateJob([v(3, "unknown", { build_job_id: "j_b3" }), v(2, "unknown", { build_job_id: "j_b2" })])).toBe("j_b3");
    expect(gateJob([v(3, "unknown"), v(2, "unknown", { build_job_id: "j_b2" })])).toBe("j_b2");
    expect(gateJob([v(2, "green", { build_job_id: "j_b2" }), v(1, "red", { build_job_id: "j_b1" })])).toBeNull();
  });
});
