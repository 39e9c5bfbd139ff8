/** `classList` and `style` of a mirrored element: each change becomes one op for the page. */
import { ROOT_ID } from "./ops";
import { camelToKebab, type MirrorContext, type ShimNode } from "./tree";

export function classList(ctx: MirrorContext, node: ShimNode): object {
  const get = (): string[] => String(node.props.className ?? "").split(/\s+/).filter(Boolean);
  const set = (list: string[]): void => {
    node.props.className = list.join(" ");
    ctx.emit({ op: "prop", id: node.id, name: "className", value: node.props.className });
  };
  return {
    add: (...c: string[]) => set([...new Set([...get(), ...c])]),
    remove: (...c: string[]) => set(get().filter((x) => !c.includes(x))),
    toggle: (c: string, force?: boolean) => {
      const on = force ?? !get().includes(c);
      set(on ? [...new Set([...get(), c])] : get().filter((x) => x !== c));
      return on;
    },
    contains: (c: string) => get().includes(c),
  };
}

export function styleOf(ctx: MirrorContext, node: ShimNode): object {
  const values: Record<string, string> = {};
  const put = (name: string, value: string): void => {
    values[name] = value;
    if (node.id === ROOT_ID) ctx.putRootStyle(values);
    else ctx.emit({ op: "style", id: node.id, name, value });
  };
  return new Proxy(values, {
    get: (t, k) => {
      if (k === "setProperty") return (n: string, v: string) => put(n, String(v));
      if (k === "removeProperty") return (n: string) => put(n, "");
      if (k === "getPropertyValue") return (n: string) => t[n] ?? "";
      return typeof k === "string" ? (t[camelToKebab(k)] ?? "") : undefined;
    },
    set: (_t, k, v) => {
      if (typeof k === "string") put(camelToKebab(k), String(v));
      return true;
    },
  });
}

/** The root's style rule in the head, created on first use; returns the function that redraws it. */
export function rootStyleRule(ctx: Pick<MirrorContext, "emit" | "create">, headId: number): (values: Record<string, string>) => void {
  let rule: ShimNode | null = null;
  return (values) => {
    if (!rule) {
      rule = ctx.create("style");
      ctx.emit({ op: "create", id: rule.id, tag: "style" });
      ctx.emit({ op: "append", parent: headId, child: rule.id });
    }
    const decls = Object.entries(values).filter(([, v]) => v !== "").map(([k, v]) => `${k}: ${v};`);
    ctx.emit({ op: "text", id: rule.id, text: `:root { ${decls.join(" ")} }` });
  };
}
