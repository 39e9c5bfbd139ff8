import { describe, expect, it } from "vitest";
import { BODY_ID, createDomMirror, type DomOp, HEAD_ID } from "./python-dom";

type El = Record<string, unknown> & {
  appendChild(c: unknown): unknown;
  setAttribute(n: string, v: string): void;
  getAttribute(n: string): string | null;
  addEventListener(t: string, f: (e: { target: El }) => void): void;
};
type Doc = { createElement(t: string): El; body: El; getElementById(id: string): El | null; title: string };

function mirror(): { doc: Doc; ops: DomOp[]; dispatch: ReturnType<typeof createDomMirror>["dispatch"] } {
  const ops: DomOp[] = [];
  const m = createDomMirror((op) => ops.push(op));
  return { doc: m.document as Doc, ops, dispatch: m.dispatch };
}

describe("the DOM mirror for Python in a worker", () => {
  it("records creating, filling and appending an element", () => {
    const { doc, ops } = mirror();
    const h1 = doc.createElement("h1");
    h1.textContent = "Hi";
    doc.body.appendChild(h1);
    expect(ops).toEqual([
      { op: "create", id: 1, tag: "h1" },
      { op: "text", id: 1, text: "Hi" },
      { op: "append", parent: BODY_ID, child: 1 },
    ]);
  });

  it("finds elements by id after setAttribute", () => {
    const { doc } = mirror();
    const p = doc.createElement("p");
    p.setAttribute("id", "x");
    doc.body.appendChild(p);
    expect(doc.getElementById("x")?.tagName).toBe("P");
  });

  it("calls listeners for events from the page with the target", () => {
    const { doc, dispatch } = mirror();
    const b = doc.createElement("button");
    const seen: string[] = [];
    b.addEventListener("click", (e) => seen.push(String(e.target.tagName)));
    dispatch(1, "click");
    expect(seen).toEqual(["BUTTON"]);
  });

  it("keeps input values synced from the page without firing listeners", () => {
    const { doc, dispatch } = mirror();
    const input = doc.createElement("input");
    let fired = false;
    input.addEventListener("input", () => {
      fired = true;
    });
    dispatch(1, "__sync", "typed");
    expect(input.value).toBe("typed");
    expect(fired).toBe(false);
  });

  it("sends only plain values as properties", () => {
    const { doc, ops } = mirror();
    const el = doc.createElement("div");
    el.hidden = true;
    el.custom = { not: "cloneable" };
    expect(ops.filter((o) => o.op === "prop")).toEqual([{ op: "prop", id: 1, name: "hidden", value: true }]);
  });

  it("draws the root element's custom properties as a :root rule in the head", () => {
    const { doc, ops } = mirror();
    const root = (doc as unknown as { documentElement: { style: { setProperty(n: string, v: string): void } } })
      .documentElement;
    root.style.setProperty("--accent", "#4f46e5");
    expect(ops).toEqual([
      { op: "create", id: 1, tag: "style" },
      { op: "append", parent: HEAD_ID, child: 1 },
      { op: "text", id: 1, text: ":root { --accent: #4f46e5; }" },
    ]);
  });

  it("sends nothing the page cannot address for the root element", () => {
    const { doc, ops } = mirror();
    const root = (doc as unknown as { documentElement: El }).documentElement;
    root.setAttribute("lang", "en");
    expect(root.getAttribute("lang")).toBe("en");
    expect(ops).toEqual([]);
  });
});
