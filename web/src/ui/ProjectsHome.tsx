/** The projects home: a returning user's recent work, to open or rename, beside "new app". */
import { useState } from "preact/hooks";
import { openProject, renameProject } from "../actions/projects";
import type { Project } from "../api/types";
import { formatTime } from "./format";
import { useApp, useCtx } from "./hooks";

const FRAMEWORK_NAMES: Record<string, string> = { react: "React", vue: "Vue", vanilla: "Vanilla JS", python: "Python" };

export function ProjectsHome() {
  const projects = useApp((s) => s.projects);
  if (projects.length === 0) return null;
  return (
    <section class="home" data-testid="projects-home" aria-labelledby="home-title">
      <h2 id="home-title" class="home-title">
        Your projects
      </h2>
      <ul class="home-list">
        {projects.map((p) => (
          <ProjectRow key={p.project_id} project={p} />
        ))}
      </ul>
    </section>
  );
}

function ProjectRow({ project }: { project: Project }) {
  const ctx = useCtx();
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(project.name);
  const save = async (): Promise<void> => {
    if (await renameProject(ctx, project.project_id, name)) setEditing(false);
  };
  return (
    <li class="home-item" data-testid="home-project" data-project={project.project_id}>
      {editing ? (
        <form
          class="home-rename"
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          <input
            class="input"
            data-testid="rename-input"
            aria-label={`New name for ${project.name}`}
            value={name}
            maxLength={120}
            ref={(el) => el?.focus()}
            onInput={(e) => setName(e.currentTarget.value)}
            onKeyDown={(e) => {
              if (e.key === "Escape") {
                e.stopPropagation();
                setEditing(false);
              }
            }}
          />
          <button class="btn btn-small btn-primary" type="submit" data-testid="rename-save">
            Save
          </button>
          <button class="btn btn-small btn-ghost" type="button" onClick={() => setEditing(false)}>
            Cancel
          </button>
        </form>
      ) : (
        <>
          <button class="home-open" data-testid="home-open" onClick={() => void openProject(ctx, project.project_id)}>
            <span class="home-name" data-testid="home-name">
              {project.name}
            </span>
            <span class="home-meta">
              {FRAMEWORK_NAMES[project.framework] ?? project.framework} · v{project.latest_version} · {formatTime(project.updated_at)}
            </span>
          </button>
          <button
            class="btn btn-small btn-ghost"
            data-testid="rename-project"
            aria-label={`Rename ${project.name}`}
            onClick={() => {
              setName(project.name);
              setEditing(true);
            }}
          >
            Rename
          </button>
        </>
      )}
    </li>
  );
}
