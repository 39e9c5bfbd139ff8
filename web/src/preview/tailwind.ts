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
