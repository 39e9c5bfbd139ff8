/** What the build gate said about a version, in words the UI shows. */
import type { BuildHealth, Project, VersionSummary } from "../api/types";
import type { Problem } from "./app";

export interface Badge {
  kind: "green" | "red" | "checking" | "unchecked";
  label: string;
  /** The longer story: the checks that passed, or the errors. */
  detail: string;
}

type Gated = Pick<VersionSummary, "build" | "health" | "build_errors">;

/** "builds · renders · 4/4 checks": what the gate checked, for a version with checks. */
export function checkedLine(health: BuildHealth | null | undefined): string | null {
  const total = health?.checks_total ?? 0;
  if (!health || !total) return null;
  const parts = [health.builds ? "builds" : "does not build"];
  if (health.renders != null) parts.push(health.renders ? "renders" : "renders nothing");
  parts.push(`${health.checks_passed ?? 0}/${total} checks`);
  return parts.join(" · ");
}

function checksFailed(health: BuildHealth | null | undefined): boolean {
  return !!health?.checks_total && (health.checks_passed ?? 0) < health.checks_total;
}

export function badgeOf(v: Gated): Badge {
  const line = checkedLine(v.health);
  if (v.build === "green") {
    const checks = ["builds"];
    if (v.health?.renders) checks.push("renders");
    if (v.health && v.health.page_errors === 0) checks.push("no page errors");
    if (v.health?.checks_total) checks.push(`${v.health.checks_total}/${v.health.checks_total} checks`);
    return { kind: "green", label: line ? `✓ ${line}` : "✓ works", detail: `Checked: ${checks.join(", ")}` };
  }
  if (v.build === "red") {
    const errors = buildProblems(v).map((p) => formatWhere(p) + p.message);
    const messages = errors.length ? errors : (v.health?.messages ?? []);
    const count = messages.length;
    return {
      kind: "red",
      label: v.health?.builds && checksFailed(v.health) && line ? `✕ ${line}` : count ? `✕ ${count} error${count === 1 ? "" : "s"}` : "✕ failed",
      detail: messages.join("\n") || "The build failed.",
    };
  }
  if (v.build === "unchecked") {
    return { kind: "unchecked", label: "not checked", detail: "This server's build gate is off: kiln did not build or test this version" };
  }
  return { kind: "checking", label: "checking…", detail: "kiln is building this version" };
}

/**
 * The badge of the version on screen: the gate's verdict, unless the preview shows the
 * app failing (the gate runs it elsewhere, e.g. plain CPython for a Python app).
 */
export function screenBadge(v: Gated, problems: readonly Problem[]): Badge {
  const runtime = problems.filter((p) => p.source === "runtime");
  if (runtime.length === 0) return badgeOf(v);
  return {
    kind: "red",
    label: "✕ fails in preview",
    detail: `The preview shows ${runtime.length === 1 ? "an error" : `${runtime.length} errors`}:\n${runtime.map((p) => p.message).join("\n")}`,
  };
}

/** The gate's build errors as problems for the problems panel (each with a Fix it): one per
 * place, as tsc and Vite may both report the same line. */
export function buildProblems(v: Gated): Problem[] {
  const seen = new Set<string>();
  const out: Problem[] = [];
  for (const e of v.build_errors ?? []) {
    const place = e.file ? `${e.file}:${e.line ?? ""}` : `:${e.message}`;
    if (seen.has(place)) continue;
    seen.add(place);
    out.push({
      source: "build" as const,
      message: e.message,
      ...(e.file ? { file: e.file } : {}),
      ...(e.line ? { line: e.line } : {}),
      ...(e.column ? { column: e.column } : {}),
    });
  }
  return out;
}

/** The version a project opens on: the one kiln kept when the latest failed, else the latest. */
export function landingVersion(
  project: Pick<Project, "latest_version" | "last_green_version">,
  versions: readonly Pick<VersionSummary, "version" | "build">[],
): number {
  return keptVersion(project, versions)?.kept ?? project.latest_version;
}

function formatWhere(p: Problem): string {
  return p.file ? `${p.file}${p.line ? `:${p.line}` : ""}: ` : "";
}

/** When the latest version is red and the project stayed on its last green one, say so. */
export function keptVersion(
  project: Pick<Project, "latest_version" | "last_green_version"> | null,
  versions: readonly Pick<VersionSummary, "version" | "build">[],
): { failed: number; kept: number; text: string } | null {
  if (!project) return null;
  const failed = project.latest_version;
  const kept = project.last_green_version;
  const latest = versions.find((v) => v.version === failed);
  if (!kept || kept >= failed || latest?.build !== "red") return null;
  return { failed, kept, text: `v${failed} failed to build; kiln kept v${kept}, the last working version` };
}

/** Whether a version's build is still being checked and worth polling for. */
export function isChecking(versions: readonly Pick<VersionSummary, "version" | "build">[], n: number | null): boolean {
  return versions.some((v) => v.version === n && v.build === "unknown");
}
