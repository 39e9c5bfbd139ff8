/** Top bar: brand, project switcher, job status and the project's actions. */
import { isBusy, isLatest, isStreaming, type AppState } from "../state/app";
import type { Store } from "../state/store";
import type { Actions } from "./actions";
import { buildBadge } from "./badges";
import { formatTime, h, icon, replaceChildren } from "./dom";
import { mountSettings } from "./settings";
import { mountShare } from "./share";

export function mountTopbar(
  root: HTMLElement,
  store: Store<AppState>,
  actions: Actions,
  openDeploy: () => void,
): void {
  const name = h("span", { class: "project-name", testid: "project-name" });
  const switcher = h("button", { class: "switcher", testid: "project-switcher", "aria-haspopup": "menu" }, name, icon("chevron", 14));
  const menu = h("div", { class: "menu", role: "menu", testid: "project-menu", hidden: true });
  const status = h("span", { class: "job-status", testid: "job-status" });
  const current = h("span", { class: "current-build", testid: "current-build" });
  const history = h("button", { class: "btn btn-ghost", testid: "history-button" }, icon("history"), "History");
  const zip = h("button", { class: "btn btn-ghost", testid: "download-zip" }, icon("download"), "Download");
  const deploy = h("button", { class: "btn btn-primary", testid: "deploy-button" }, icon("rocket"), "Deploy");

  const closeMenu = (): void => {
    menu.hidden = true;
  };
  switcher.addEventListener("click", (e) => {
    e.stopPropagation();
    menu.hidden = !menu.hidden;
    if (!menu.hidden) void actions.refreshProjects();
  });
  const share = mountShare(store, actions);
  const settings = mountSettings(store, actions);
  document.addEventListener("click", (e) => {
    const target = e.target as Node;
    if (!menu.contains(target)) closeMenu();
    if (store.get().popover && !share.contains(target) && !settings.contains(target)) store.set({ popover: null });
  });
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    closeMenu();
    if (store.get().popover) store.set({ popover: null });
  });
  history.addEventListener("click", () => store.set({ historyOpen: !store.get().historyOpen }));
  zip.addEventListener("click", () => void actions.downloadZip());
  deploy.addEventListener("click", openDeploy);

  root.append(
    h("a", { class: "brand", href: "#/", title: "kiln" }, h("span", { class: "brand-mark" }), "kiln"),
    h("span", { class: "divider" }),
    h("div", { class: "switcher-wrap" }, switcher, menu),
    current,
    status,
    h("span", { class: "spacer" }),
    settings,
    history,
    zip,
    share,
    deploy,
  );

  store.watch(["project", "version"], (s) => {
    const viewing = s.project && !isLatest(s) && s.version ? ` · viewing v${s.version}` : "";
    name.textContent = s.project ? `${s.project.name}${viewing}` : "New project";
    document.title = s.project ? `${s.project.name} · kiln` : "kiln";
    const empty = !s.project || !s.version;
    history.disabled = !s.project;
    zip.disabled = empty;
    deploy.disabled = empty;
  });
  store.watch(["versions", "version", "job"], (s) => {
    const v = s.job ? undefined : s.versions.find((x) => x.version === s.version);
    replaceChildren(current, v ? buildBadge(v, "current-build-badge") : null);
  });
  store.watch(["job"], (s) => {
    const job = s.job;
    status.hidden = !job;
    status.dataset["status"] = job?.status ?? "";
    status.className = `job-status ${job?.status ?? ""}`;
    replaceChildren(status, job ? h("span", { class: "pulse" }) : null, job ? (isStreaming(s) ? "Generating" : "Finishing") : "");
    status.setAttribute("aria-label", job ? `Job ${job.status}` : "");
  });
  store.watch(["projects", "project"], (s) => {
    const items = s.projects.map((p) =>
      h(
        "button",
        {
          class: `menu-item${p.project_id === s.project?.project_id ? " active" : ""}`,
          role: "menuitem",
          testid: "project-item",
          onclick: () => {
            closeMenu();
            if (isBusy(store.get())) return;
            void actions.openProject(p.project_id);
          },
        },
        h("span", { class: "menu-name" }, p.name),
        h("span", { class: "menu-meta" }, `${p.framework} · v${p.latest_version} · ${formatTime(p.updated_at)}`),
      ),
    );
    replaceChildren(
      menu,
      h("button", { class: "menu-item new", role: "menuitem", testid: "new-project", onclick: () => { closeMenu(); actions.newProject(); } }, icon("plus", 14), "New project"),
      items.length ? h("div", { class: "menu-sep" }) : null,
      ...items,
    );
  });
}
