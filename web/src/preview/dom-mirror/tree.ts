/** The mirror's nodes: one ShimNode per element, its children, and lookups by selector. */
import type { DomOp } from "./ops";

export type Listener = ((event: unknown) => unknown) & { copy?: () => Listener; destroy?: () => void };

/** What the element methods need from the mirror that owns them. */
export interface MirrorContext {
  emit(op: DomOp): void;
  /** A new node (with its proxy) registered under `id`, or the next free id. */
  create(tag: string, id?: number): ShimNode;
  createTextNode(text: string): object;
  dispatch(id: number, event: string): void;
  /** Draws the root's inline style as one `:root` rule. */
  putRootStyle(values: Record<string, string>): void;
}

export class ShimNode {
  readonly tagName: string;
  parent: ShimNode | null = null;
  children: ShimNode[] = [];
  props: Record<string, unknown> = {};
  attrs: Record<string, string> = {};
  listeners = new Map<string, Listener[]>();
  textContent = "";
  readonly proxy: ShimNode;

  constructor(
    readonly id: number,
    tag: string,
    handler: ProxyHandler<ShimNode>,
  ) {
    this.tagName = tag.toUpperCase();
    this.proxy = new Proxy(this, handler);
  }
}

export const camelToKebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function unwrap(node: unknown): ShimNode {
  // A proxy passes `instanceof ShimNode` too, so ask for the target first.
  const shim = (node as { __shim?: ShimNode } | null)?.__shim ?? (node instanceof ShimNode ? node : undefined);
  if (!shim) throw new TypeError("not an element created by document.createElement");
  return shim;
}

export function detach(child: ShimNode): void {
  if (child.parent) child.parent.children = child.parent.children.filter((c) => c !== child);
  child.parent = null;
}

function matches(node: ShimNode, selector: string): boolean {
  const s = selector.trim();
  if (s.startsWith("#")) return node.attrs.id === s.slice(1) || node.props.id === s.slice(1);
  if (s.startsWith(".")) {
    const cls = String(node.props.className ?? node.attrs.class ?? "").split(/\s+/);
    return cls.includes(s.slice(1));
  }
  return node.tagName === s.toUpperCase();
}

function find(root: ShimNode, selector: string, all: ShimNode[] | null): ShimNode | null {
  for (const c of root.children) {
    if (matches(c, selector)) {
      if (!all) return c;
      all.push(c);
    }
    const hit = find(c, selector, all);
    if (hit && !all) return hit;
  }
  return null;
}

/** The first descendant of `root` that matches a `#id`, `.class` or tag selector. */
export function queryOne(root: ShimNode, selector: string): object | null {
  return find(root, String(selector), null)?.proxy ?? null;
}

export function queryAll(root: ShimNode, selector: string): object[] {
  const all: ShimNode[] = [];
  find(root, String(selector), all);
  return all.map((s) => s.proxy);
}
