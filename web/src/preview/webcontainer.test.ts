import { describe, expect, it } from "vitest";
import { readProjectFile } from "./webcontainer";

/** WebContainer's fs answers like node's: ENOENT for a missing path. */
function fs(files: Record<string, string>) {
  return {
    fs: {
      readFile: (path: string, _encoding?: string): Promise<string> =>
        path in files
          ? Promise.resolve(files[path] as string)
          : Promise.reject(new Error(`ENOENT: no such file or directory, open '${path}'`)),
    },
  };
}

describe("readProjectFile", () => {
  it("reads a file of the running project as text", async () => {
    expect(await readProjectFile(fs({ "src/App.tsx": "app" }) as never, "src/App.tsx")).toBe("app");
  });

  it("answers null for a file that is not there", async () => {
    expect(await readProjectFile(fs({}) as never, "missing.txt")).toBeNull();
  });

  it("does not hide other failures", async () => {
    const broken = { fs: { readFile: () => Promise.reject(new Error("EACCES")) } };
    await expect(readProjectFile(broken as never, "x")).rejects.toThrow("EACCES");
  });
});
