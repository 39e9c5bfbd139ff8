/**
 * Tailwind in the fallback preview, compiled by the real `tailwindcss` v4 compiler
 * (`compile()`, served by kiln as /vendor/tailwind/) inside the sandboxed frame: the project's
 * Tailwind stylesheets go in, the class candidates scanned from its source files are built.
 * v3 projects (`@tailwind` directives, tailwind.config.*) run through v4's compatibility
 * layer: the directives become v4's imports and the config is loaded with `@config`.
 * Configs and plugins are the user's code, so they are only ever evaluated in the frame.
 */

const DIRECTIVES = /@import\s+(?:url\()?["']tailwindcss(?:\/[^"']*)?["']|@tailwind\s+[a-z-]+|@theme\b|@apply\s|@config\s|@plugin\s|@utility\s|@custom-variant\s/;
const SOURCE = /\.(html|[cm]?[jt]sx?|vue|svelte|mdx?|astro)$/i;
const CONFIG_NAMES = ["tailwind.config.js", "tailwind.config.ts", "tailwind.config.cjs", "tailwind.config.mjs"];

export function isTailwindCss(css: string): boolean {
  return DIRECTIVES.test(css.replace(/\/\*[\s\S]*?\*\//g, ""));
}

export function tailwindConfigPath(files: ReadonlyMap<string, string>): string | null {
  return CONFIG_NAMES.find((n) => files.has(n)) ?? null;
}

/** The path from the folder of `from` to `to`, as `@config` wants it. */
function relative(from: string, to: string): string {
  const up = from.split("/").length - 1;
  return up === 0 ? `./${to}` : `${"../".repeat(up)}${to}`;
}

/**
 * A project stylesheet as v4's compiler takes it: v3's `@tailwind` directives become the
 * imports v4's own index.css makes, and a v3 config is attached with `@config`.
 */
export function toV4Source(path: string, css: string, configPath: string | null): string {
  if (!/@tailwind\s/.test(css)) return css;
  let out = css
    .replace(/@tailwind\s+base\s*;/g, '@import "tailwindcss/theme.css" layer(theme);\n@import "tailwindcss/preflight.css" layer(base);')
    .replace(/@tailwind\s+utilities\s*;/g, '@import "tailwindcss/utilities.css" layer(utilities);')
    .replace(/@tailwind\s+(components|variants|screens)\s*;/g, "");
  if (configPath && !/@config\s/.test(out)) out = `@config "${relative(path, configPath)}";\n${out}`;
  return out;
}

/**
 * Class candidates in the project's source files, the way Tailwind's scanner sees them:
 * every run of characters a class name can hold, plus the pieces of runs that hold
 * brackets or quotes. Tailwind ignores candidates that are no utility, so more is harmless.
 */
export function scanCandidates(files: ReadonlyMap<string, string>): string[] {
  const out = new Set<string>();
  for (const [path, content] of files) {
    if (!SOURCE.test(path) || path.includes("node_modules/")) continue;
    for (const token of content.split(/[\s"'`<>{}=,;\\]+/)) {
      if (!token || token.length > 200) continue;
      add(out, token);
    }
  }
  return [...out];
}

function add(out: Set<string>, token: string): void {
  const t = token.replace(/^[(:.!]+(?=[a-z!-])/i, "").replace(/[):.]+$/, "");
  if (t && /[a-z0-9]/i.test(t)) out.add(t);
  if (t.includes("(") && !t.includes("[")) {
    for (const part of t.split(/[()]+/)) if (part && part !== t) add(out, part);
  }
}

/** What the page's Tailwind worker compiles: project stylesheets and class candidates. */
export interface TailwindJob {
  entries: string[];
  sources: Record<string, string>;
  candidates: string[];
}

type Compile = (
  css: string,
  opts: {
    base: string;
    from?: string;
    loadStylesheet: (id: string, base: string) => Promise<{ path: string; base: string; content: string }>;
    loadModule: (id: string, base: string) => Promise<never>;
  },
) => Promise<{ build(candidates: string[]): string }>;

function dirOf(p: string): string {
  const i = p.lastIndexOf("/");
  return i < 0 ? "" : p.slice(0, i);
}

function joinPath(base: string, id: string): string {
  const out: string[] = [];
  for (const part of ((base ? `${base}/` : "") + id).split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return out.join("/");
}

/**
 * The CSS of a Tailwind job, by `compile` (tailwindcss's own): `@import "tailwindcss[/x]"`
 * from `own` (Tailwind's stylesheets), other imports from the project's stylesheets. Loading
 * a module (`@config`, `@plugin`) is refused: the user's code runs only in the frame.
 */
export async function compileTailwind(compile: Compile, job: TailwindJob, own: (file: string) => string | null): Promise<string> {
  async function loadStylesheet(id: string, base: string): Promise<{ path: string; base: string; content: string }> {
    if (id === "tailwindcss" || id.startsWith("tailwindcss/")) {
      const file = id === "tailwindcss" ? "index.css" : id.slice("tailwindcss/".length);
      const content = own(file) ?? own(`${file}.css`);
      if (content === null) throw new Error(`Tailwind has no stylesheet ${id}`);
      return { path: id, base: "", content };
    }
    const path = joinPath(base, id);
    const content = job.sources[path];
    if (content === undefined) throw new Error(`cannot find stylesheet ${id} (from ${base || "the project root"})`);
    return { path, base: dirOf(path), content };
  }
  async function loadModule(id: string): Promise<never> {
    throw new Error(`${id}: Tailwind modules are loaded in the preview frame only`);
  }
  let css = "";
  for (const p of job.entries) {
    const compiler = await compile(job.sources[p] ?? "", { base: dirOf(p), from: p, loadStylesheet, loadModule });
    css += compiler.build(job.candidates);
  }
  return css;
}

/** Whether a job's Tailwind is CSS alone (no `@config`/`@plugin`, which load code). */
export function cssOnly(sources: Record<string, string>): boolean {
  return !Object.values(sources).some((css) => /@(?:config|plugin)\s/.test(css.replace(/\/\*[\s\S]*?\*\//g, "")));
}

/**
 * The page's Tailwind compiler (one worker, kept warm), or null where workers cannot start.
 * Answers are kept per job, so a rebuild that changes neither CSS nor classes costs nothing.
 */
export function createTailwindWorker(make: () => Worker): ((job: TailwindJob) => Promise<string>) | null {
  let worker: Worker;
  try {
    worker = make();
  } catch {
    return null;
  }
  let ids = 0;
  const waiting = new Map<number, { resolve: (css: string) => void; reject: (e: Error) => void }>();
  const kept = new Map<string, Promise<string>>();
  worker.addEventListener("message", (e: MessageEvent<{ id: number; css?: string; error?: string }>) => {
    const w = waiting.get(e.data.id);
    waiting.delete(e.data.id);
    if (e.data.error !== undefined || e.data.css === undefined) w?.reject(new Error(e.data.error ?? "no CSS"));
    else w?.resolve(e.data.css);
  });
  worker.addEventListener("error", () => {
    for (const w of waiting.values()) w.reject(new Error("the Tailwind worker failed to start"));
    waiting.clear();
  });
  return (job) => {
    const key = JSON.stringify([job.entries, job.sources, [...job.candidates].sort()]);
    let css = kept.get(key);
    if (!css) {
      const id = ++ids;
      css = new Promise<string>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        worker.postMessage({ id, job });
      });
      css.catch(() => kept.delete(key));
      kept.set(key, css);
      for (const old of [...kept.keys()].slice(0, Math.max(0, kept.size - 8))) kept.delete(old);
    }
    return css;
  };
}
