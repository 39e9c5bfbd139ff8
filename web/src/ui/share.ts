/** Share: a public, expiring link to the version on screen, with a copy button. */
import { ApiError } from "../api/client";
import type { AppState } from "../state/app";
import type { Store } from "../state/store";
import { describeError, type Actions } from "./actions";
import { h, icon, replaceChildren } from "./dom";

export function mountShare(store: Store<AppState>, actions: Actions): HTMLElement {
  const button = h("button", { class: "btn btn-ghost", testid: "share-button", "aria-haspopup": "dialog" }, icon("link"), "Share");
  const body = h("div", { class: "popover-body" });
  const pop = h("div", { class: "popover", role: "dialog", "aria-label": "Share a preview link", testid: "share-popover", hidden: true }, body);

  const create = async (): Promise<void> => {
    const version = store.get().version;
    replaceChildren(body, h("p", { class: "muted small" }, `Creating a link to v${version}… (kiln builds it first if needed)`));
    try {
      const link = await actions.shareLink();
      const input = h("input", { class: "input", readonly: true, value: link.url, testid: "share-url", "aria-label": "Preview link" });
      const copy = h("button", { class: "btn btn-small", testid: "share-copy" }, "Copy");
      copy.addEventListener("click", () => {
        input.select();
        void navigator.clipboard?.writeText(link.url).then(
          () => (copy.textContent = "Copied"),
          () => (copy.textContent = "Press Ctrl+C"),
        );
      });
      replaceChildren(
        body,
        h("p", { class: "small" }, `Anyone with this link can open v${version}.`),
        h("div", { class: "row" }, input, copy),
        h("p", { class: "muted small", testid: "share-expiry" }, `Expires ${new Date(link.expires_at).toLocaleString()}`),
        h("a", { class: "small", href: link.url, target: "_blank", rel: "noopener noreferrer" }, "Open in a new tab"),
      );
    } catch (err) {
      const red = err instanceof ApiError && err.code === "version_red";
      replaceChildren(
        body,
        h("p", { class: "turn-error small", role: "alert", testid: "share-error" }, red ? `This version does not build, so it cannot be shared: ${describeError(err)}` : describeError(err)),
      );
    }
  };

  button.addEventListener("click", (e) => {
    e.stopPropagation();
    const open = store.get().popover === "share";
    store.set({ popover: open ? null : "share" });
    if (!open) void create();
  });
  store.watch(["popover"], (s) => {
    pop.hidden = s.popover !== "share";
  });
  store.watch(["project", "version"], (s) => {
    button.disabled = !s.project || !s.version;
  });
  return h("div", { class: "popover-wrap" }, button, pop);
}
