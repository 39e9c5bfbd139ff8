/** Top bar: brand, project switcher, job status and the project's actions. */
import { useEffect, useLayoutEffect, useRef, useState } from "preact/hooks";
import { toast } from "../actions/context";
import { newProject, openProject, refreshProjects } from "../actions/projects";
import { downloadZip } from "../actions/versions";
import { isBusy, isLatest, isStreaming } from "../state/app";
import { screenBadge } from "../state/health";
import { BuildBadge } from "./Badge";
import { Time } from "./Time";
import { useApp, useCtx } from "./hooks";
import { Icon } from "./Icon";
import { Settings } from "./Settings";
import { confirmLeave } from "./leave";
import { Share } from "./Share";

export function Topbar() {
  const ctx = useCtx();
  const project = useApp((s) => s.project);
  const version = useApp((s) => s.version);
  const viewingOld = useApp((s) => s.project !== null && !isLatest(s) && !!s.version);
  const empty = !project || !version;
  useEffect(() => {
    document.title = project ? `${project.name} · kiln` : "kiln";
  }, [project]);
  return (
    <header class="topbar">
      <a
        class="brand"
        href="#/"
        title="kiln: start a new project"
        aria-label="kiln: start a new project"
        onClick={(e) => {
          // the same question as switching project: unsaved hand edits stay as a draft
          if (!confirmLeave(ctx)) e.preventDefault();
        }}
      >
        <span class="brand-mark" />
        <span class="brand-text">kiln</span>
      </a>
      <span class="divider" />
      <ProjectSwitcher name={project ? `${project.name}${viewingOld ? ` · viewing v${version}` : ""}` : "New project"} />
      <CurrentBuild />
      <JobStatus />
      <span class="spacer" />
      <Settings />
      <button
        class="btn btn-ghost"
        data-testid="history-button"
        aria-label="History"
        disabled={!project}
        onClick={() => ctx.store.set({ historyOpen: !ctx.store.get().historyOpen })}
      >
        <Icon name="history" />
        <span class="btn-label">History</span>
      </button>
      <button class="btn btn-ghost" data-testid="download-zip" aria-label="Download as zip" disabled={empty} onClick={() => void downloadZip(ctx)}>
        <Icon name="download" />
        <span class="btn-label">Download</span>
      </button>
      <Share />
      <button class="btn btn-primary" data-testid="deploy-button" aria-label="Deploy" disabled={empty} onClick={() => ctx.store.set({ deployOpen: true })}>
        <Icon name="rocket" />
        <span class="btn-label">Deploy</span>
      </button>
    </header>
  );
}

function CurrentBuild() {
  const v = useApp((s) => (s.job ? undefined : s.versions.find((x) => x.version === s.version)));
  const problems = useApp((s) => s.problems);
  return (
    <span class="current-build" data-testid="current-build">
      {v ? <BuildBadge v={v} testid="current-build-badge" badge={screenBadge(v, problems)} /> : null}
    </span>
  );
}

function JobStatus() {
  const job = useApp((s) => s.job);
  const streaming = useApp(isStreaming);
  if (!job) return <span class="job-status" data-testid="job-status" hidden />;
  return (
    <span class={`job-status ${job.status}`} data-testid="job-status" data-status={job.status} aria-label={`Job ${job.status}`}>
      <span class="pulse" />
      {streaming ? "Generating" : "Finishing"}
    </span>
  );
}

/** The project menu: a new project, then the owner's projects, newest first (arrow keys move). */
function ProjectSwitcher({ name }: { name: string }) {
  const ctx = useCtx();
  const [open, setOpen] = useState(false);
  const projects = useApp((s) => s.projects);
  const current = useApp((s) => s.project?.project_id ?? null);
  const wrap = useRef<HTMLDivElement>(null);
  const menu = useRef<HTMLDivElement>(null);
  useLayoutEffect(() => {
    if (!open) return;
    const close = (e: Event): void => {
      if (!wrap.current?.contains(e.target as Node)) setOpen(false);
    };
    const escape = (e: KeyboardEvent): void => {
      if (e.key === "Escape") setOpen(false);
    };
    document.addEventListener("click", close);
    document.addEventListener("keydown", escape);
    return () => {
      document.removeEventListener("click", close);
      document.removeEventListener("keydown", escape);
    };
  }, [open]);
  const toggle = (): void => {
    if (!open) void refreshProjects(ctx);
    setOpen(!open);
  };
  const moveFocus = (e: KeyboardEvent): void => {
    if (e.key === "Escape") {
      e.stopPropagation();
      setOpen(false);
      wrap.current?.querySelector<HTMLElement>(".switcher")?.focus();
      return;
    }
    const items = [...(menu.current?.querySelectorAll<HTMLElement>("[role=menuitem]") ?? [])];
    if (!items.length) return;
    const at = items.indexOf(document.activeElement as HTMLElement);
    const next =
      e.key === "ArrowDown" ? (at + 1) % items.length
      : e.key === "ArrowUp" ? (at - 1 + items.length) % items.length
      : e.key === "Home" ? 0
      : e.key === "End" ? items.length - 1
      : null;
    if (next === null) return;
    e.preventDefault();
    items[next]?.focus();
  };
  const pick = (run: () => void): void => {
    setOpen(false);
    if (isBusy(ctx.store.get())) toast(ctx, "info", "A generation is running: stop it or wait for it, then switch.");
    else if (confirmLeave(ctx)) run();
  };
  return (
    <div class="switcher-wrap" ref={wrap}>
      <button
        class="switcher"
        data-testid="project-switcher"
        aria-haspopup="menu"
        aria-expanded={open}
        onClick={toggle}
        onKeyDown={(e) => {
          if (e.key === "ArrowDown" && open) moveFocus(e);
        }}
      >
        <span class="project-name" data-testid="project-name">
          {name}
        </span>
        <Icon name="chevron" size={14} />
      </button>
      {open ? (
        <div class="menu" role="menu" aria-label="Projects" data-testid="project-menu" ref={menu} onKeyDown={moveFocus}>
          <button class="menu-item new" role="menuitem" data-testid="new-project" onClick={() => pick(() => newProject(ctx))}>
            <Icon name="plus" size={14} />
            New project
          </button>
          {projects.length ? <div class="menu-sep" role="separator" /> : null}
          {projects.map((p) => (
            <button
              key={p.project_id}
              class={`menu-item${p.project_id === current ? " active" : ""}`}
              role="menuitem"
              data-testid="project-item"
              onClick={() => pick(() => void openProject(ctx, p.project_id))}
            >
              <span class="menu-name">{p.name}</span>
              <span class="menu-meta">
                {p.framework} · v{p.latest_version} · <Time iso={p.updated_at} testid="menu-time" />
              </span>
            </button>
          ))}
        </div>
      ) : null}
    </div>
  );
}
