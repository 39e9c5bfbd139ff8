/** The projects home: a returning user's recent work, to open, rename, duplicate or delete,
 * beside "new app". */
import { useEffect, useRef, useState } from "preact/hooks";
import { deleteProject, duplicateProject, openProject, renameProject } from "../actions/projects";
import type { Project } from "../api/types";
import { Time } from "./Time";
import { onDialogClosed, useApp, useCtx } from "./hooks";

const FRAMEWORK_NAMES: Record<string, string> = { react: "React", vue: "Vue", vanilla: "Vanilla JS", python: "Python" };

export function ProjectsHome() {
  const projects = useApp((s) => s.projects);
  // a new object per request: a request right after a cancel (both in one render) still opens it
  const [deleting, setDeleting] = useState<DeleteRequest | null>(null);
  if (projects.length === 0) return null;
  return (
    <section class="home" data-testid="projects-home" aria-labelledby="home-title">
      <h2 id="home-title" class="home-title">
        Your projects
      </h2>
      <ul class="home-list">
        {projects.map((p) => (
          <ProjectRow key={p.project_id} project={p} onDelete={() => setDeleting({ project: p })} />
        ))}
      </ul>
      <DeleteDialog request={deleting} onDone={(done) => setDeleting((cur) => (cur === done ? null : cur))} />
    </section>
  );
}

type DeleteRequest = { project: Project };

/** "Delete this project?" as a modal dialog: focus starts on Cancel, Escape cancels, and
 * focus goes back to the row's Delete button when it closes without deleting. */
function DeleteDialog({ request, onDone }: { request: DeleteRequest | null; onDone: (done: DeleteRequest | null) => void }) {
  const project = request?.project ?? null;
  const ctx = useCtx();
  const dialog = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);
  // the request the dialog was opened for: a close that arrives late must not end a newer one
  const shown = useRef<DeleteRequest | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    const el = dialog.current;
    if (!el) return;
    if (request && !el.open) {
      opener.current = document.activeElement as HTMLElement | null;
      setError(null);
      shown.current = request;
      el.showModal();
    }
    if (!request && el.open) el.close();
  }, [request]);
  const confirm = async (): Promise<void> => {
    if (!project) return;
    setBusy(true);
    const problem = await deleteProject(ctx, project.project_id);
    setBusy(false);
    if (problem) setError(problem);
    else {
      opener.current = null;
      onDone(request);
    }
  };
  return (
    <dialog
      class="dialog confirm-dialog"
      data-testid="delete-dialog"
      ref={dialog}
      aria-labelledby="delete-title"
      aria-describedby="delete-text"
      onClose={onDialogClosed(() => {
        onDone(shown.current);
        if (opener.current?.isConnected) opener.current.focus();
      })}
    >
      <h2 id="delete-title">Delete “{project?.name}”?</h2>
      <p id="delete-text">
        It leaves your projects with all its versions, and any scheduled deploys of it stop. Share links end when they expire; sites
        you already deployed stay online.
      </p>
      {error ? (
        <p class="dialog-error" role="alert" data-testid="delete-error">
          {error}
        </p>
      ) : null}
      <div class="dialog-foot">
        <button class="btn" data-testid="delete-cancel" autofocus onClick={() => dialog.current?.close()}>
          Cancel
        </button>
        <button class="btn btn-danger" data-testid="delete-confirm" disabled={busy} onClick={() => void confirm()}>
          Delete project
        </button>
      </div>
    </dialog>
  );
}

function ProjectRow({ project, onDelete }: { project: Project; onDelete: () => void }) {
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
              {FRAMEWORK_NAMES[project.framework] ?? project.framework} · v{project.latest_version} · <Time iso={project.updated_at} testid="home-time" />
            </span>
          </button>
          <div class="home-actions">
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
            <button
              class="btn btn-small btn-ghost"
              data-testid="duplicate-project"
              aria-label={`Duplicate ${project.name}`}
              title="A new project starting from this one's latest version"
              disabled={project.latest_version < 1}
              onClick={() => void duplicateProject(ctx, project.project_id)}
            >
              Duplicate
            </button>
            <button class="btn btn-small btn-ghost btn-danger-text" data-testid="delete-project" aria-label={`Delete ${project.name}`} onClick={onDelete}>
              Delete
            </button>
          </div>
        </>
      )}
    </li>
  );
}
