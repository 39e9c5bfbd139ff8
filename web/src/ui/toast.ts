/** One toast at a time for action results and errors; errors stay until dismissed. */
import type { AppState } from "../state/app";
import type { Store } from "../state/store";
import { h, icon, replaceChildren } from "./dom";

export function mountToast(root: HTMLElement, store: Store<AppState>): void {
  const box = h("div", { class: "toast", role: "status", "aria-live": "polite", testid: "toast" });
  root.append(box);
  let timer: ReturnType<typeof setTimeout> | undefined;
  store.watch(["toast"], (s) => {
    clearTimeout(timer);
    const t = s.toast;
    box.classList.toggle("show", t !== null);
    if (!t) return;
    box.className = `toast show ${t.kind}`;
    const close = h("button", { class: "icon-btn", "aria-label": "Dismiss" }, icon("x", 14));
    close.addEventListener("click", () => store.set({ toast: null }));
    replaceChildren(box, h("span", {}, t.text), close);
    timer = setTimeout(() => store.set({ toast: null }), t.kind === "error" ? 8000 : 3000);
  });
}
