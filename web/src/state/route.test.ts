import { describe, expect, it } from "vitest";
import { formatRoute, parseRoute } from "./route";

describe("route", () => {
  it("reads a project from the hash", () => {
    expect(parseRoute("#/p/abc123")).toEqual({ projectId: "abc123", version: null });
  });

  it("reads a project and version", () => {
    expect(parseRoute("#/p/abc/v/4")).toEqual({ projectId: "abc", version: 4 });
  });

  it("treats anything else as no project", () => {
    expect(parseRoute("")).toEqual({ projectId: null, version: null });
    expect(parseRoute("#/settings")).toEqual({ projectId: null, version: null });
  });

  it("round-trips through formatRoute", () => {
    const route = { projectId: "p 1", version: 2 };
    expect(parseRoute(formatRoute(route))).toEqual(route);
    expect(formatRoute({ projectId: null, version: null })).toBe("#/");
  });
});
