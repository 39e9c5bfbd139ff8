/**
 * Vue single-file components compiled in the browser with @vue/compiler-sfc. Imported
 * lazily (only Vue projects pay for the compiler). The result is TypeScript when the SFC
 * uses lang="ts", so the caller hands it to esbuild with the "ts" loader.
 */
import { compileScript, compileStyle, compileTemplate, parse } from "@vue/compiler-sfc";
import { BuildError, type Problem } from "./problems";

export interface CompiledSfc {
  code: string;
  lang: "ts" | "js";
}

function hashId(path: string): string {
  let h = 0;
  for (let i = 0; i < path.length; i += 1) h = (Math.imul(31, h) + path.charCodeAt(i)) | 0;
  return (h >>> 0).toString(16).padStart(8, "0");
}

function asProblem(file: string, err: unknown): Problem {
  if (typeof err === "string") return { source: "build", message: err, file };
  const e = err as { message?: string; loc?: { start: { line: number; column: number } } };
  const p: Problem = { source: "build", message: e.message ?? String(err), file };
  if (e.loc) {
    p.line = e.loc.start.line;
    p.column = e.loc.start.column;
  }
  return p;
}

export function compileSfc(path: string, source: string): CompiledSfc {
  const { descriptor, errors } = parse(source, { filename: path });
  if (errors.length) throw new BuildError(errors.map((e) => asProblem(path, e)));
  const id = hashId(path);
  const scoped = descriptor.styles.some((s) => s.scoped);
  const lang = (descriptor.scriptSetup ?? descriptor.script)?.lang;
  const isTs = lang === "ts" || lang === "tsx";
  const parts: string[] = [];
  try {
    if (descriptor.script || descriptor.scriptSetup) {
      const script = compileScript(descriptor, {
        id,
        genDefaultAs: "__sfc__",
        inlineTemplate: !!descriptor.scriptSetup,
        templateOptions: { compilerOptions: { isTS: isTs } },
      });
      parts.push(script.content);
    } else {
      parts.push("const __sfc__ = {};");
    }
    if (descriptor.template && !descriptor.scriptSetup) {
      const t = compileTemplate({
        id,
        source: descriptor.template.content,
        filename: path,
        scoped,
        compilerOptions: { isTS: isTs, scopeId: scoped ? `data-v-${id}` : undefined },
      });
      if (t.errors.length) throw new BuildError(t.errors.map((e) => asProblem(path, e)));
      parts.push(t.code.replace(/\nexport (function|const) render/, "\n$1 render"));
      parts.push("__sfc__.render = render;");
    }
  } catch (err) {
    if (err instanceof BuildError) throw err;
    throw new BuildError([asProblem(path, err)]);
  }
  const css: string[] = [];
  for (const style of descriptor.styles) {
    if (style.lang && style.lang !== "css") {
      throw new BuildError([
        {
          source: "build",
          file: path,
          message: `<style lang="${style.lang}"> is not supported by the in-browser preview; use plain CSS`,
        },
      ]);
    }
    const out = compileStyle({ source: style.content, filename: path, id: `data-v-${id}`, scoped: style.scoped });
    if (out.errors.length) throw new BuildError(out.errors.map((e) => asProblem(path, e)));
    css.push(out.code);
  }
  if (css.length) {
    parts.push(
      `{ const s = document.createElement("style"); s.dataset.kilnFile = ${JSON.stringify(path)};` +
        ` s.textContent = ${JSON.stringify(css.join("\n"))}; document.head.appendChild(s); }`,
    );
  }
  if (scoped) parts.push(`__sfc__.__scopeId = "data-v-${id}";`);
  parts.push(`__sfc__.__file = ${JSON.stringify(path)};`, "export default __sfc__;");
  return { code: parts.join("\n"), lang: isTs ? "ts" : "js" };
}
