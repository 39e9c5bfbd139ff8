/** A mirrored element as Python sees it: DOM methods and properties, recorded as ops. */
import { classList, styleOf } from "./style";
import { detach, type Listener, type MirrorContext, queryAll, queryOne, type ShimNode, unwrap, camelToKebab } from "./tree";

type Method = (node: ShimNode, ...a: unknown[]) => unknown;

function treeMethods(ctx: MirrorContext): Record<string, Method> {
  const appendChild: Method = (node, child) => {
    const c = unwrap(child);
    detach(c);
    c.parent = node;
    node.children.push(c);
    ctx.emit({ op: "append", parent: node.id, child: c.id });
    return child;
  };
  const append: Method = (node, ...items) => {
    for (const item of items) appendChild(node, typeof item === "string" ? ctx.createTextNode(item) : item);
  };
  const remove: Method = (node) => {
    detach(node);
    ctx.emit({ op: "remove", id: node.id });
  };
  return {
    appendChild,
    append,
    remove,
    insertBefore(node, child, ref) {
      const c = unwrap(child);
      if (ref == null) return appendChild(node, child);
      const r = unwrap(ref);
      detach(c);
      c.parent = node;
      node.children.splice(Math.max(0, node.children.indexOf(r)), 0, c);
      ctx.emit({ op: "append", parent: node.id, child: c.id, before: r.id });
      return child;
    },
    removeChild(_node, child) {
      const c = unwrap(child);
      detach(c);
      ctx.emit({ op: "remove", id: c.id });
      return child;
    },
    replaceChildren(node, ...items) {
      for (const c of [...node.children]) remove(c);
      append(node, ...items);
    },
    querySelector: (node, selector) => queryOne(node, String(selector)),
    querySelectorAll: (node, selector) => queryAll(node, String(selector)),
  };
}

function attributeMethods(ctx: MirrorContext): Record<string, Method> {
  return {
    setAttribute(node, name, value) {
      node.attrs[String(name)] = String(value);
      ctx.emit({ op: "attr", id: node.id, name: String(name), value: String(value) });
    },
    getAttribute(node, name) {
      return node.attrs[String(name)] ?? null;
    },
    removeAttribute(node, name) {
      delete node.attrs[String(name)];
      ctx.emit({ op: "attr", id: node.id, name: String(name), value: null });
    },
  };
}

function eventMethods(ctx: MirrorContext): Record<string, Method> {
  return {
    addEventListener(node, event, fn) {
      let listener = fn as Listener;
      if (typeof listener.copy === "function") listener = listener.copy();
      const list = node.listeners.get(String(event)) ?? [];
      if (list.length === 0) ctx.emit({ op: "listen", id: node.id, event: String(event) });
      list.push(listener);
      node.listeners.set(String(event), list);
    },
    removeEventListener(node, event) {
      node.listeners.delete(String(event));
    },
    focus() {},
    blur() {},
    click(node) {
      ctx.dispatch(node.id, "click");
    },
  };
}

function readProperty(ctx: MirrorContext, methods: Record<string, Method>, node: ShimNode, key: string): unknown {
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
      return classList(ctx, node);
    case "style":
      return (node.props.__style ??= styleOf(ctx, node));
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
}

function writeProperty(ctx: MirrorContext, methods: Record<string, Method>, node: ShimNode, key: string, value: unknown): void {
  if (key === "textContent" || key === "innerText") {
    node.textContent = String(value);
    for (const c of node.children) c.parent = null;
    node.children = [];
    ctx.emit({ op: "text", id: node.id, text: node.textContent });
  } else if (key === "innerHTML") {
    node.children = [];
    ctx.emit({ op: "html", id: node.id, html: String(value) });
  } else if (key.startsWith("on") && typeof value === "function") {
    methods.addEventListener?.(node, key.slice(2), value);
  } else {
    node.props[key] = value;
    // Only plain values cross to the page (Pyodide may also park its own objects here).
    const t = typeof value;
    if (value === null || t === "string" || t === "number" || t === "boolean") {
      ctx.emit({ op: "prop", id: node.id, name: key, value });
    }
  }
}

/** The proxy handler every element of one mirror shares. */
export function elementHandler(ctx: MirrorContext): ProxyHandler<ShimNode> {
  const methods = { ...treeMethods(ctx), ...attributeMethods(ctx), ...eventMethods(ctx) };
  return {
    get(node, key) {
      if (key === "__shim") return node;
      if (typeof key !== "string") return undefined;
      const method = methods[key];
      if (method) return (...a: unknown[]) => method(node, ...a);
      return readProperty(ctx, methods, node, key);
    },
    set(node, key, value) {
      if (typeof key !== "string") return false;
      writeProperty(ctx, methods, node, key, value);
      return true;
    },
  };
}
