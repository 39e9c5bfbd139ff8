import { describe, expect, it } from "vitest";
import { badgeOf, buildProblems, isChecking, keptVersion, landingVersion, screenBadge } from "./health";

const red = {
  build: "red" as const,
  health: { builds: false, messages: ["vite failed"] },
  build_errors: [{ file: "src/App.tsx", line: 3, column: 7, message: "Unexpected token" }],
};

describe("build health", () => {
  it("badges a green version with the checks it passed", () => {
    const badge = badgeOf({ build: "green", health: { builds: true, renders: true, page_errors: 0, messages: [] } });
    expect(badge.kind).toBe("green");
    expect(badge.detail).toBe("Checked: builds, renders, no page errors");
  });

  it("says what was checked, checks included", () => {
    const health = { builds: true, renders: true, page_errors: 0, messages: [], checks_passed: 4, checks_total: 4 };
    expect(badgeOf({ build: "green", health }).label).toBe("✓ builds · renders · 4/4 checks");
    const failing = { ...health, checks_passed: 1, checks_total: 2 };
    const badge = badgeOf({ build: "red", health: failing, build_errors: [{ message: 'the check "adds" failed' }] });
    expect(badge.label).toBe("✕ builds · renders · 1/2 checks");
    expect(badge.detail).toBe('the check "adds" failed');
  });

  it("badges a red version with its errors at file:line", () => {
    const badge = badgeOf(red);
    expect(badge.label).toBe("✕ 1 error");
    expect(badge.detail).toBe("src/App.tsx:3: Unexpected token");
  });

  it("falls back to the health messages when a red version has no located errors", () => {
    expect(badgeOf({ ...red, build_errors: [] }).detail).toBe("vite failed");
  });

  it("lists one problem per place when tsc and Vite both report a line", () => {
    const twice = {
      ...red,
      build_errors: [
        { file: "src/App.tsx", line: 4, column: 16, message: "TS1109: Expression expected." },
        { file: "src/App.tsx", line: 4, column: 16, message: 'Unexpected ";"' },
        { file: "src/App.tsx", line: 9, column: 1, message: "another" },
      ],
    };
    expect(buildProblems(twice).map((p) => `${p.line}: ${p.message}`)).toEqual(["4: TS1109: Expression expected.", "9: another"]);
    expect(badgeOf(twice).label).toBe("✕ 2 errors");
  });

  it("opens a project on the version kiln kept when its latest failed, else on the latest", () => {
    const versions = [
      { version: 3, build: "red" as const },
      { version: 1, build: "green" as const },
    ];
    expect(landingVersion({ latest_version: 3, last_green_version: 1 }, versions)).toBe(1);
    expect(landingVersion({ latest_version: 3, last_green_version: 1 }, [{ version: 3, build: "unknown" as const }])).toBe(3);
    expect(landingVersion({ latest_version: 2, last_green_version: null }, [{ version: 2, build: "red" as const }])).toBe(2);
  });

  it("shows an unknown build as checking", () => {
    expect(badgeOf({ build: "unknown" }).kind).toBe("checking");
  });

  it("says a version saved with the gate off is not checked, without a spinner's promise", () => {
    const badge = badgeOf({ build: "unchecked" });
    expect(badge.kind).toBe("unchecked");
    expect(badge.label).toBe("not checked");
  });

  it("turns build errors into problems with file, line and column", () => {
    expect(buildProblems(red)).toEqual([
      { source: "build", message: "Unexpected token", file: "src/App.tsx", line: 3, column: 7 },
    ]);
  });

  it("says plainly when the latest is red and the project kept its last green version", () => {
    const kept = keptVersion({ latest_version: 3, last_green_version: 1 }, [{ version: 3, build: "red" }]);
    expect(kept?.text).toBe("v3 failed to build; kiln kept v1, the last working version");
    expect(kept?.kept).toBe(1);
  });

  it("says nothing when the latest version is green or still checking", () => {
    const project = { latest_version: 3, last_green_version: 1 };
    expect(keptVersion(project, [{ version: 3, build: "green" }])).toBeNull();
    expect(keptVersion(project, [{ version: 3, build: "unknown" }])).toBeNull();
    expect(keptVersion({ latest_version: 3, last_green_version: null }, [{ version: 3, build: "red" }])).toBeNull();
  });

  it("polls only while the version's build is unknown", () => {
    expect(isChecking([{ version: 2, build: "unknown" }], 2)).toBe(true);
    expect(isChecking([{ version: 2, build: "green" }], 2)).toBe(false);
  });
});

describe("screenBadge", () => {
  const green = { version: 3, build: "green" as const, health: { builds: true, renders: true, page_errors: 0, messages: [] }, build_errors: [] };

  it("keeps the gate's green when the preview reports nothing but console noise", () => {
    expect(screenBadge(green, [{ source: "console", message: "hello" }]).kind).toBe("green");
  });

  it("turns red when the preview shows the app failing, whatever the gate said", () => {
    const badge = screenBadge(green, [{ source: "runtime", message: "AttributeError: documentElement" }]);
    expect(badge.kind).toBe("red");
    expect(badge.label).toBe("✕ fails in preview");
    expect(badge.detail).toContain("AttributeError: documentElement");
  });
});
