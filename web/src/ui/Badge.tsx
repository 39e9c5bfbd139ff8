/** The build-gate badge of a version: green, red (errors on hover and expand) or checking. */
import type { VersionSummary } from "../api/types";
import { badgeOf, type Badge } from "../state/health";

type Gated = Pick<VersionSummary, "version" | "build" | "health" | "build_errors">;

/** `badge` overrides the gate's verdict (the version on screen, as the preview shows it). */
export function BuildBadge({ v, testid = "build-badge", badge = badgeOf(v) }: { v: Gated; testid?: string; badge?: Badge }) {
  return (
    <span
      class={`build-badge ${badge.kind}`}
      data-testid={testid}
      data-build={v.build}
      data-kind={badge.kind}
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
