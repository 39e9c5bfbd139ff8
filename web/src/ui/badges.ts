/** The build-gate badge of a version: green, red (errors on hover and expand) or checking. */
import type { VersionSummary } from "../api/types";
import { badgeOf } from "../state/health";
import { h } from "./dom";

type Gated = Pick<VersionSummary, "version" | "build" | "health" | "build_errors">;

export function buildBadge(v: Gated, testid = "build-badge"): HTMLElement {
  const badge = badgeOf(v);
  return h(
    "span",
    { class: `build-badge ${badge.kind}`, testid, "data-build": v.build, title: badge.detail, "aria-label": `v${v.version}: ${badge.kind === "checking" ? "checking the build" : badge.detail}` },
    badge.kind === "checking" ? h("span", { class: "spinner" }) : null,
    badge.label,
  );
}

/** A red version's errors, folded under the badge. */
export function buildErrors(v: Gated): HTMLElement | null {
  const badge = badgeOf(v);
  if (badge.kind !== "red") return null;
  return h(
    "details",
    { class: "build-errors", testid: "build-errors" },
    h("summary", {}, "Why it failed"),
    h("pre", {}, badge.detail),
  );
}
