/**
 * A small mirror of the DOM for Python running in a Web Worker (which has no document).
 * `import js; js.document.createElement(...)` in the worker builds ShimNodes and records
 * operations; the worker posts them to the preview page, which applies them to the real
 * DOM and sends events (and input values) back. Covers what generated apps use: creating,
 * appending and removing elements, text, attributes, classes, styles, properties, events.
 *
 * `document.documentElement` is mirrored too. The page's applier knows only the body and
 * the head, so the root's inline style (custom properties such as `--accent`, a theme's
 * colours) reaches the page as a `:root { ... }` rule in a style element of the head;
 * its attributes and classes are kept here, readable by the program, but not drawn.
 */

export type DomOp =
  | { op: "create"; id: number; tag: string }
  | { op: "text"; id: number; text: string }
  | { op: "html"; id: number; html: string }
  | { op: "prop"; id: number; name: string; value: unknown }
  | { op: "attr"; id: number; name: string; value: string | null }
  | { op: "style"; id: number; name: string; value: string }
  | { op: "append"; parent: number; child: number; before?: number }
  | { op: "remove"; id: number }
  | { op: "listen"; id: number; event: string }
  | { op: "title"; text: string };

export const BODY_ID = 0;
export const HEAD_ID = -1;
export const ROOT_ID = -2;

type Listener = ((event: unknown) => unknown) & { copy?: () => Listener; destroy?: () => void };

export interface DomMirror {
  document: object;
  /** An event (or a value sync, event "__sync") from the page. */
  dispatch(id: number, event: string, value?: string, checked?: boolean): void;
}

const camelToKebab = (s: string): string => s.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);

export function createDomMirror(send: (op: DomOp) => void): DomMirror {
  // The page cannot address the root: its ops stay here (its style is drawn as a rule).
  const emit = (op: DomOp): void => {
    if (!("id" in op && op.id === ROOT_ID) && !("parent" in op && op.parent === ROOT_ID)) send(op);
  };
  let nextId = 1;
  const nodes = new Map<number, Shim>();

  class Shim {
    readonly id: number;
    readonly tagName: string;
    parent: Shim | null = null;
    children: Shim[] = [];
    props: Record<string, unknown> = {};
    attrs: Record<string, string> = {};
    listeners = new Map<string, Listener[]>();
    textContent = "";
    proxy: Shim;

    constructor(tag: string, id?: number) {
      this.id = id ?? nextId++;
      this.tagName = tag.toUpperCase();
      nodes.set(this.id, this);
      this.proxy = new Proxy(this, handler) as Shim;
    }
  }

  function unwrap(node: unknown): Shim {
    // A proxy passes `instanceof Shim` too, so ask for the target first.
    const shim = (node as { __shim?: Shim } | null)?.__shim ?? (node instanceof Shim ? node : undefined);
    if (!shim) throw new TypeError("not an element created by document.createElement");
    return shim;
  }

  function detach(child: Shim): void {
    if (child.parent) child.parent.children = child.parent.children.filter((c) => c !== child);
    child.parent = null;
  }

  function matches(node: Shim, selector: string): boolean {
    const s = selector.trim();
    if (s.startsWith("#")) return node.attrs.id === s.slice(1) || node.props.id === s.slice(1);
    if (s.startsWith(".")) {
      const cls = String(node.props.className ?? node.attrs.class ?? "").split(/\s+/);
      return cls.includes(s.slice(1));
    }
    return node.tagName === s.toUpperCase();
  }

  function find(root: Shim, selector: string, all: Shim[] | null): Shim | null {
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

  function classList(node: Shim): object {
    const get = (): string[] => String(node.props.className ?? "").split(/\s+/).filter(Boolean);
    const set = (list: string[]): void => {
      node.props.className = list.join(" ");
      emit({ op: "prop", id: node.id, name: "className", value: node.props.className });
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

  /** The root's inline style, drawn as one `:root` rule (created on first use). */
  let rootRule: Shim | null = null;
  function putRootStyle(values: Record<string, string>): void {
    if (!rootRule) {
      rootRule = new Shim("style");
      emit({ op: "create", id: rootRule.id, tag: "style" });
      emit({ op: "append", parent: HEAD_ID, child: rootRule.id });
    }
    const decls = Object.entries(values).filter(([, v]) => v !== "").map(([k, v]) => `${k}: ${v};`);
    emit({ op: "text", id: rootRule.id, text: `:root { ${decls.join(" ")} }` });
  }

  function style(node: Shim): object {
    const values: Record<string, string> = {};
    const put = (name: string, value: string): void => {
      values[name] = value;
      if (node.id === ROOT_ID) putRootStyle(values);
      else emit({ op: "style", id: node.id, name, value });
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

  const methods: Record<string, (node: Shim, ...a: unknown[]) => unknown> = {
    appendChild(node, child) {
      const c = unwrap(child);
      detach(c);
      c.parent = node;
      node.children.push(c);
      emit({ op: "append", parent: node.id, child: c.id });
      return child;
    },
    append(node, ...items) {
      for (const item of items) {
        if (typeof item === "string") methods.appendChild?.(node, document.createTextNode(item));
        else methods.appendChild?.(node, item);
      }
    },
    insertBefore(node, child, ref) {
      const c = unwrap(child);
      if (ref == null) return methods.appendChild?.(node, child);
      const r = unwrap(ref);
      detach(c);
      c.parent = node;
      node.children.splice(Math.max(0, node.children.indexOf(r)), 0, c);
      emit({ op: "append", parent: node.id, child: c.id, before: r.id });
      return child;
    },
    removeChild(_node, child) {
      const c = unwrap(child);
      detach(c);
      emit({ op: "remove", id: c.id });
      return child;
    },
    remove(node) {
      detach(node);
      emit({ op: "remove", id: node.id });
    },
    replaceChildren(node, ...items) {
      for (const c of [...node.children]) methods.remove?.(c);
      methods.append?.(node, ...items);
    },
    setAttribute(node, name, value) {
      node.attrs[String(name)] = String(value);
      emit({ op: "attr", id: node.id, name: String(name), value: String(value) });
    },
    getAttribute(node, name) {
      return node.attrs[String(name)] ?? null;
    },
    removeAttribute(node, name) {
      delete node.attrs[String(name)];
      emit({ op: "attr", id: node.id, name: String(name), value: null });
    },
    addEventListener(node, event, fn) {
      let listener = fn as Listener;
      if (typeof listener.copy === "function") listener = listener.copy();
      const list = node.listeners.get(String(event)) ?? [];
      if (list.length === 0) emit({ op: "listen", id: node.id, event: String(event) });
      list.push(listener);
      node.listeners.set(String(event), list);
    },
    removeEventListener(node, event) {
      node.listeners.delete(String(event));
    },
    querySelector(node, selector) {
      return find(node, String(selector), null)?.proxy ?? null;
    },
    querySelectorAll(node, selector) {
      const all: Shim[] = [];
      find(node, String(selector), all);
      return all.map((s) => s.proxy);
    },
    focus() {},
    blur() {},
    click(node) {
      mirror.dispatch(node.id, "click");
    },
  };

  const handler: ProxyHandler<Shim> = {
    get(node, key) {
      if (key === "__shim") return node;
      if (typeof key !== "string") return undefined;
      const method = methods[key];
      if (method) return (...a: unknown[]) => method(node, ...a);
      switch (key) {
        case "tagName":
        case "nodeName":
          return node.tagName;
        case "textContent":
        case "innerText":
          return node.textContent;
        case "children":
        case "childNodes":
          return node.children.map((c) => c.proxy);
        case "parentNode":
        case "parentElement":
          return node.parent?.proxy ?? null;
        case "firstChild":
        case "firstElementChild":
          return node.children[0]?.proxy ?? null;
        case "lastChild":
          return node.children[node.children.length - 1]?.proxy ?? null;
        case "classList":
          return classList(node);
        case "style":
          return (node.props.__style ??= style(node));
        case "dataset":
          return new Proxy({}, { set: (_t, k, v) => { methods.setAttribute?.(node, `data-${camelToKebab(String(k))}`, v); return true; } });
        case "id":
          return node.attrs.id ?? node.props.id ?? "";
        case "value":
          return node.props.value ?? "";
        case "checked":
          return node.props.checked ?? false;
        case "then":
          return undefined;
        default:
          return node.props[key];
      }
    },
    set(node, key, value) {
      if (typeof key !== "string") return false;
      if (key === "textContent" || key === "innerText") {
        node.textContent = String(value);
        for (const c of node.children) c.parent = null;
        node.children = [];
        emit({ op: "text", id: node.id, text: node.textContent });
      } else if (key === "innerHTML") {
        node.children = [];
        emit({ op: "html", id: node.id, html: String(value) });
      } else if (key.startsWith("on") && typeof value === "function") {
        methods.addEventListener?.(node, key.slice(2), value);
      } else {
        node.props[key] = value;
        // Only plain values cross to the page (Pyodide may also park its own objects here).
        const t = typeof value;
        if (value === null || t === "string" || t === "number" || t === "boolean") {
          emit({ op: "prop", id: node.id, name: key, value });
        }
      }
      return true;
    },
  };

  const body = new Shim("body", BODY_ID);
  const head = new Shim("head", HEAD_ID);
  const root = new Shim("html", ROOT_ID);
  root.children = [head, body];
  head.parent = root;
  body.parent = root;
  let title = "";
  const document = {
    get body() { return body.proxy; },
    get head() { return head.proxy; },
    get documentElement() { return root.proxy; },
    get title() { return title; },
    set title(t: string) {
      title = String(t);
      emit({ op: "title", text: title });
    },
    createElement(tag: string) {
      const n = new Shim(String(tag));
      emit({ op: "create", id: n.id, tag: String(tag) });
      return n.proxy;
    },
    createTextNode(text: string) {
      const n = new Shim("span");
      emit({ op: "create", id: n.id, tag: "span" });
      n.textContent = String(text);
      emit({ op: "text", id: n.id, text: n.textContent });
      return n.proxy;
    },
    getElementById(id: string) {
      return find(body, `#${id}`, null)?.proxy ?? null;
    },
    querySelector(sel: string) {
      return find(body, String(sel), null)?.proxy ?? null;
    },
    querySelectorAll(sel: string) {
      const all: Shim[] = [];
      find(body, String(sel), all);
      return all.map((s) => s.proxy);
    },
    addEventListener() {},
  };

  const mirror: DomMirror = {
    document,
    dispatch(id, event, value, checked) {
      const node = nodes.get(id);
      if (!node) return;
      if (value !== undefined) node.props.value = value;
      if (checked !== undefined) node.props.checked = checked;
      if (event === "__sync") return;
      const target = node.proxy;
      const ev = { type: event, target, currentTarget: target, preventDefault() {}, stopPropagation() {} };
      for (const fn of node.listeners.get(event) ?? []) fn(ev);
    },
  };
  return mirror;
}
