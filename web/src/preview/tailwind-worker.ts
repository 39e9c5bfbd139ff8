/**
 * Tailwind v4's real compiler in a worker of kiln's page, for projects whose Tailwind is
 * CSS alone (no `@config` or `@plugin`: those load the user's code, which only ever runs in
 * the sandboxed frame). The page keeps one warm compiler for every rebuild, and the frame
 * gets finished CSS instead of a 300 KB compiler to load and run on each render.
 */
/// <reference lib="webworker" />
import { compile } from "tailwindcss";
import indexCss from "tailwindcss/index.css?raw";
import preflightCss from "tailwindcss/preflight.css?raw";
import themeCss from "tailwindcss/theme.css?raw";
import utilitiesCss from "tailwindcss/utilities.css?raw";
import { compileTailwind, type TailwindJob } from "./tailwind";

const OWN: Record<string, string> = {
  "index.css": indexCss,
  "theme.css": themeCss,
  "preflight.css": preflightCss,
  "utilities.css": utilitiesCss,
};

// One compile as soon as the worker starts, while the page waits for the model: the first
// app's Tailwind then runs on warm (optimised) code, in a fraction of the time.
void compileTailwind(
  compile,
  { entries: ["warm.css"], sources: { "warm.css": '@import "tailwindcss";' }, candidates: ["flex", "p-4", "text-sm", "bg-sky-500", "hover:bg-sky-600", "md:grid-cols-2"] },
  (file) => OWN[file] ?? null,
).catch(() => undefined);

addEventListener("message", (e: MessageEvent<{ id: number; job: TailwindJob }>) => {
  const { id, job } = e.data;
  compileTailwind(compile, job, (file) => OWN[file] ?? null).then(
    (css) => postMessage({ id, css }),
    (err: unknown) => postMessage({ id, error: err instanceof Error ? err.message : String(err) }),
  );
});
