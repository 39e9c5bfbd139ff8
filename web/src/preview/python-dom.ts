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

import { elementHandler } from "./dom-mirror/element";
import { BODY_ID, type DomOp, HEAD_ID, ROOT_ID } from "./dom-mirror/ops";
import { rootStyleRule } from "./dom-mirror/style";
import { type MirrorContext, queryAll, queryOne, ShimNode } from "./dom-mirror/tree";

export { BODY_ID, type DomOp, HEAD_ID, ROOT_ID } from "./dom-mirror/ops";

export interface DomMirror {
  document: object;
  /** An event (or a value sync, event "__sync") from the page. */
  dispatch(id: number, event: string, value?: string, checked?: boolean): void;
}

export function createDomMirror(send: (op: DomOp) => void): DomMirror {
  const nodes = new Map<number, ShimNode>();
  let nextId = 1;
  const ctx: MirrorContext = {
    // The page cannot address the root: its ops stay here (its style is drawn as a rule).
    emit(op) {
      if (!("id" in op && op.id === ROOT_ID) && !("parent" in op && op.parent === ROOT_ID)) send(op);
    },
    create(tag, id) {
      const n = new ShimNode(id ?? nextId++, tag, handler);
      nodes.set(n.id, n);
      return n;
    },
    createTextNode: (text) => document.createTextNode(text),
    dispatch: (id, event) => dispatch(id, event),
    putRootStyle: (values) => putRootStyle(values),
  };
  const handler = elementHandler(ctx);
  const putRootStyle = rootStyleRule(ctx, HEAD_ID);
  const document = mirroredDocument(ctx);

  function dispatch(id: number, event: string, value?: string, checked?: boolean): void {
    const node = nodes.get(id);
    if (!node) return;
    if (value !== undefined) node.props.value = value;
    if (checked !== undefined) node.props.checked = checked;
    if (event === "__sync") return;
    const target = node.proxy;
    const ev = { type: event, target, currentTarget: target, preventDefault() {}, stopPropagation() {} };
    for (const fn of node.listeners.get(event) ?? []) fn(ev);
  }
  return { document, dispatch };
}

/** `js.document` in the worker: body, head and root, element creation, lookups, title. */
function mirroredDocument(ctx: MirrorContext) {
  const body = ctx.create("body", BODY_ID);
  const head = ctx.create("head", HEAD_ID);
  const root = ctx.create("html", ROOT_ID);
  root.children = [head, body];
  head.parent = root;
  body.parent = root;
  let title = "";
  return {
    get body() { return body.proxy; },
    get head() { return head.proxy; },
    get documentElement() { return root.proxy; },
    get title() { return title; },
    set title(t: string) {
      title = String(t);
      ctx.emit({ op: "title", text: title });
    },
    createElement(tag: string) {
      const n = ctx.create(String(tag));
      ctx.emit({ op: "create", id: n.id, tag: String(tag) });
      return n.proxy;
    },
    createTextNode(text: string) {
      const n = ctx.create("span");
      ctx.emit({ op: "create", id: n.id, tag: "span" });
      n.textContent = String(text);
      ctx.emit({ op: "text", id: n.id, text: n.textContent });
      return n.proxy;
    },
    getElementById: (id: string) => queryOne(body, `#${id}`),
    querySelector: (sel: string) => queryOne(body, String(sel)),
    querySelectorAll: (sel: string) => queryAll(body, String(sel)),
    addEventListener() {},
  };
}
