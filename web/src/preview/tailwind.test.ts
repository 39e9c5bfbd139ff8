import { compile } from "tailwindcss";
import { beforeAll, describe, expect, it } from "vitest";
import { compileTailwind, createTailwindWorker, cssOnly, isTailwindCss, scanCandidates, tailwindConfigPath, toV4Source, type TailwindJob } from "./tailwind";

function candidates(path: string, content: string): string[] {
  return scanCandidates(new Map([[path, content]]));
}

describe("candidates scanned from source files", () => {
  it("include the classes of a JSX className", () => {
    const c = candidates("src/App.tsx", `<div className="flex items-center bg-sky-500 hover:bg-sky-700 md:grid-cols-3">`);
    expect(c).toEqual(expect.arrayContaining(["flex", "items-center", "bg-sky-500", "hover:bg-sky-700", "md:grid-cols-3"]));
  });

  it("include arbitrary values whole", () => {
    const c = candidates("src/App.tsx", `<p className="w-[calc(100%-2rem)] bg-[#0ea5e9] grid-cols-[1fr_auto]">`);
    expect(c).toEqual(expect.arrayContaining(["w-[calc(100%-2rem)]", "bg-[#0ea5e9]", "grid-cols-[1fr_auto]"]));
  });

  it("include classes inside clsx calls and template literals", () => {
    const c = candidates("src/Button.tsx", "const cls = clsx('px-4', active && 'ring-2', `text-${size}`, cond ? \"font-bold\" : \"font-normal\")");
    expect(c).toEqual(expect.arrayContaining(["px-4", "ring-2", "font-bold", "font-normal"]));
  });

  it("include classes of Vue templates and :class bindings", () => {
    const c = candidates("src/App.vue", `<template><li :class="{ 'line-through text-slate-400': done }" class="py-2">x</li></template>`);
    expect(c).toEqual(expect.arrayContaining(["line-through", "text-slate-400", "py-2"]));
  });

  it("include classes written in index.html", () => {
    expect(candidates("index.html", `<body class="min-h-screen bg-slate-50">`)).toEqual(expect.arrayContaining(["min-h-screen", "bg-slate-50"]));
  });

  it("skip stylesheets, package.json and other non-source files", () => {
    const files = new Map([
      ["src/index.css", ".never-a-candidate { color: red }"],
      ["package.json", '{"name": "never-a-candidate"}'],
    ]);
    expect(scanCandidates(files)).toEqual([]);
  });
});

describe("Tailwind stylesheets", () => {
  it("are recognised by v4's import, v3's directives and Tailwind at-rules", () => {
    expect(isTailwindCss('@import "tailwindcss";')).toBe(true);
    expect(isTailwindCss("@import 'tailwindcss/utilities.css' layer(utilities);")).toBe(true);
    expect(isTailwindCss("@tailwind base;\n@tailwind components;\n@tailwind utilities;")).toBe(true);
    expect(isTailwindCss("@theme { --color-brand: red; }")).toBe(true);
  });

  it("are not plain CSS, nor Tailwind named in a comment", () => {
    expect(isTailwindCss(":root { --accent: #6d28d9 }\nbody { margin: 0 }")).toBe(false);
    expect(isTailwindCss('/* we could @import "tailwindcss"; later */ body{}')).toBe(false);
  });

  it("in v3 form become v4's imports with the config attached", () => {
    const v4 = toV4Source("src/index.css", "@tailwind base;\n@tailwind components;\n@tailwind utilities;\n.x{@apply p-2}", "tailwind.config.js");
    expect(v4).toContain('@config "../tailwind.config.js";');
    expect(v4).toContain('@import "tailwindcss/preflight.css" layer(base);');
    expect(v4).toContain('@import "tailwindcss/utilities.css" layer(utilities);');
    expect(v4).not.toContain("@tailwind");
  });

  it("in v4 form are left as they are", () => {
    const css = '@import "tailwindcss";\n@theme { --color-brand: #0ea5e9; }';
    expect(toV4Source("src/index.css", css, "tailwind.config.js")).toBe(css);
  });

  it("find the project's v3 config whatever its extension", () => {
    expect(tailwindConfigPath(new Map([["tailwind.config.ts", "export default {}"]]))).toBe("tailwind.config.ts");
    expect(tailwindConfigPath(new Map([["src/App.tsx", ""]]))).toBeNull();
  });
});

describe("with the real tailwindcss compiler (as the frame runs it)", () => {
  async function build(css: string, files: Map<string, string>, config?: object): Promise<string> {
    const { compile } = await import("tailwindcss");
    const fsModule: string = "node:fs/promises";
    const { readFile } = (await import(/* @vite-ignore */ fsModule)) as { readFile(u: URL, enc: string): Promise<string> };
    const root = new URL("../../node_modules/tailwindcss/", import.meta.url);
    const c = await compile(toV4Source("src/index.css", css, config ? "tailwind.config.js" : null), {
      base: "src",
      loadStylesheet: async (id, base) => {
        const file = id === "tailwindcss" ? "index.css" : id.replace(/^tailwindcss\//, "");
        return { path: id, base, content: await readFile(new URL(file, root), "utf8") };
      },
      loadModule: async (id, base) => ({ path: id, base, module: config ?? {} }),
    });
    return c.build(scanCandidates(files));
  }

  it("builds v4 utilities, @theme colours and @apply from the scanned candidates", async () => {
    const css = '@import "tailwindcss";\n@theme { --color-brand: #0ea5e9; }\n.card { @apply rounded-xl p-4; }';
    const out = await build(css, new Map([["src/App.tsx", '<h1 className="bg-brand text-white">Hi</h1>']]));
    expect(out).toMatch(/\.bg-brand\s*{[^}]*var\(--color-brand\)/);
    expect(out).toContain("--color-brand: #0ea5e9");
    expect(out).toMatch(/\.card\s*{[^}]*border-radius/);
    expect(out).not.toContain(".bg-red-500");
  });

  it("builds v3 directives with the config's theme.extend", async () => {
    const css = "@tailwind base;\n@tailwind components;\n@tailwind utilities;";
    const config = { content: ["./src/**/*.tsx"], theme: { extend: { colors: { ocean: "#123456" } } } };
    const out = await build(css, new Map([["src/App.tsx", '<div className="text-ocean p-2">']]), config);
    expect(out).toMatch(/\.text-ocean\s*{[^}]*#123456/);
    expect(out).toMatch(/\.p-2\s*{/);
  });
});

describe("Tailwind compiled by the page", () => {
  // Tailwind's own stylesheets, as the worker bundles them (vitest's ?raw leaves CSS out)
  const stylesheets: Record<string, string> = {};
  const own = (file: string): string | null => stylesheets[file] ?? null;
  beforeAll(async () => {
    const fsModule: string = "node:fs/promises";
    const { readFile } = (await import(/* @vite-ignore */ fsModule)) as { readFile(u: URL, enc: string): Promise<string> };
    for (const f of ["index.css", "theme.css", "preflight.css", "utilities.css"]) {
      stylesheets[f] = await readFile(new URL(`../../node_modules/tailwindcss/${f}`, import.meta.url), "utf8");
    }
  });
  const job = (css: string, extra: Record<string, string> = {}): TailwindJob => ({
    entries: ["src/index.css"],
    sources: { "src/index.css": css, ...extra },
    candidates: ["bg-brand", "p-6", "card", "text-white"],
  });

  it("builds the app's utilities, its @theme and its @apply with tailwindcss's compiler", async () => {
    const css = await compileTailwind(
      compile,
      job('@import "tailwindcss";\n@import "./card.css";\n@theme { --color-brand: #0ea5e9; }', { "src/card.css": ".card { @apply p-6 text-white; }" }),
      own,
    );
    expect(css).toContain("--color-brand: #0ea5e9");
    expect(css).toMatch(/\.bg-brand\s*\{[^}]*var\(--color-brand\)/);
    expect(css).toMatch(/\.card\s*\{[^}]*padding/);
    expect(css).toContain("box-sizing: border-box"); // preflight
  });

  it("refuses a plugin or config, whose code only ever runs in the frame", async () => {
    await expect(compileTailwind(compile, job('@import "tailwindcss";\n@plugin "./evil.js";'), own)).rejects.toThrow(/frame/);
    expect(cssOnly({ "a.css": '@import "tailwindcss";' })).toBe(true);
    expect(cssOnly({ "a.css": '@plugin "@tailwindcss/typography";' })).toBe(false);
    expect(cssOnly({ "a.css": '@config "../tailwind.config.js";' })).toBe(false);
    expect(cssOnly({ "a.css": '/* @plugin "x"; */ @import "tailwindcss";' })).toBe(true);
  });

  it("compiles a job once however many rebuilds ask for it", async () => {
    const posted: unknown[] = [];
    const listeners: ((e: MessageEvent) => void)[] = [];
    const worker = {
      addEventListener: (type: string, cb: (e: MessageEvent) => void) => type === "message" && listeners.push(cb),
      postMessage: (m: { id: number }) => {
        posted.push(m);
        queueMicrotask(() => listeners.forEach((cb) => cb({ data: { id: m.id, css: `css ${m.id}` } } as MessageEvent)));
      },
    } as unknown as Worker;
    const tw = createTailwindWorker(() => worker);
    expect(tw).not.toBeNull();
    const a = await tw!(job("@import 'tailwindcss';"));
    const b = await tw!({ ...job("@import 'tailwindcss';"), candidates: ["text-white", "card", "p-6", "bg-brand"] });
    const c = await tw!(job("@import 'tailwindcss'; .x{}"));
    expect([a, b, c]).toEqual(["css 1", "css 1", "css 2"]);
    expect(posted).toHaveLength(2);
  });
});
