/** Version history drawer: every version, view any, restore one as the new latest. */
import { isBusy, type AppState } from "../state/app";
import type { Store } from "../state/store";
import type { Actions } from "./actions";
import { buildBadge, buildErrors } from "./badges";
import { formatTime, h, icon, replaceChildren } from "./dom";

export function mountHistory(root: HTMLElement, store: Store<AppState>, actions: Actions): void {
  const list = h("div", { class: "versions" });
  const close = h("button", { class: "icon-btn", "aria-label": "Close history" }, icon("x"));
  close.addEventListener("click", () => store.set({ historyOpen: false }));
  const drawer = h(
    "aside",
    { class: "drawer", testid: "history-drawer", "aria-label": "Version history" },
    h("div", { class: "drawer-head" }, h("h2", {}, "Version history"), close),
    list,
  );
  const scrim = h("div", { class: "scrim" });
  scrim.addEventListener("click", () => store.set({ historyOpen: false }));
  root.append(scrim, drawer);
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && store.get().historyOpen) store.set({ historyOpen: false });
  });

  store.watch(["historyOpen"], (s) => {
    drawer.classList.toggle("open", s.historyOpen);
    scrim.classList.toggle("open", s.historyOpen);
    if (s.historyOpen && s.project) void actions.refreshVersions();
  });
  // The versions are polled while a build is checked: rebuild the list only when what it
  // shows changed, so a click is never lost to a list replaced under the pointer.
  let shown = "";
  store.watch(["versions", "version", "project", "job"], (s) => {
    const key = JSON.stringify([s.versions, s.version, s.project?.latest_version, isBusy(s)]);
    if (key === shown) return;
    shown = key;
    if (s.versions.length === 0) {
      replaceChildren(list, h("p", { class: "muted small pad" }, "No versions yet."));
      return;
    }
    const latest = s.project?.latest_version;
    replaceChildren(
      list,
      ...s.versions.map((v) => {
        const current = v.version === s.version;
        const view = h("button", { class: "btn btn-small btn-ghost", testid: "view-version", disabled: current }, current ? "Showing" : "View");
        view.addEventListener("click", () => void actions.viewVersion(v.version));
        const restore = h("button", { class: "btn btn-small", testid: "restore-button", disabled: isBusy(s) }, "Restore");
        restore.addEventListener("click", () => void actions.restore(v.version));
        return h(
          "div",
          { class: `version${current ? " current" : ""}`, testid: "version-item", "data-version": v.version },
          h(
            "div",
            { class: "version-top" },
            h("span", { class: "version-num" }, `v${v.version}`),
            v.version === latest ? h("span", { class: "badge" }, "latest") : null,
            buildBadge(v),
            v.fix_of ? h("span", { class: "tag", testid: "fix-round", title: `The gate's repair of v${v.fix_of}` }, "fix round") : null,
            v.charged === false ? h("span", { class: "tag muted", testid: "not-charged", title: "This version failed the build gate; its cost was refunded" }, "not charged") : null,
            h("span", { class: "spacer" }),
            h("span", { class: "muted small" }, formatTime(v.created_at)),
          ),
          h("div", { class: "version-prompt" }, v.fix_of ? `Fix round for v${v.fix_of}` : (v.prompt ?? (v.job_id ? "Generated" : "Edited by hand"))),
          buildErrors(v),
          h(
            "div",
            { class: "version-actions" },
            h("span", { class: "muted small" }, `${v.files} file${v.files === 1 ? "" : "s"}`),
            h("span", { class: "spacer" }),
            view,
            v.version === latest ? null : restore,
          ),
        );
      }),
    );
  });
}
