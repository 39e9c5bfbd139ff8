/** The build-gate badge of a version: green, red (errors on hover and expand) or checking. */
import type { VersionSummary } from "../api/types";
import { badgeOf } from "../state/health";

type Gated = Pick<VersionSummary, "version" | "build" | "health" | "build_errors">;

export function BuildBadge({ v, testid = "build-badge" }: { v: Gated; testid?: string }) {
  const badge = badgeOf(v);
  return (
    <span
      class={`build-badge ${badge.kind}`}
      data-testid={testid}
      data-build={v.build}
      title={badge.detail}
      aria-label={`v${v.version}: ${badge.kind === "checking" ? "checking the build" : badge.detail}`}
    >
      {badge.kind === "checking" ? <span class="spinner" /> : null}
      {badge.label}
    </span>
  );
}

/** A red version's errors, folded under the badge. */
export function BuildErrors({ v }: { v: Gated }) {
  const badge = badgeOf(v);
  if (badge.kind !== "red") return null;
  return (
    <details class="build-errors" data-testid="build-errors">
      <summary>Why it failed</summary>
      <pre>{badge.detail}</pre>
    </details>
  );
}
