/** Deploy dialog: pick a target, give a token (used once, never stored), follow the deploy. */
import { ApiError } from "../api/client";
import type { DeployTarget, Deployment } from "../api/types";
import type { AppState } from "../state/app";
import type { Store } from "../state/store";
import { describeError, type Actions } from "./actions";
import { h, icon, replaceChildren } from "./dom";
import { mountSchedules } from "./schedules";

const TARGETS: { value: DeployTarget; label: string; hint: string }[] = [
  { value: "vercel", label: "Vercel", hint: "A Vercel access token" },
  { value: "netlify", label: "Netlify", hint: "A Netlify personal access token" },
  { value: "github", label: "GitHub Pages", hint: "A GitHub token with repo scope" },
  { value: "s3", label: "kiln hosting (S3)", hint: "No token needed" },
];
const FINAL = new Set(["ready", "succeeded", "failed", "error", "cancelled", "canceled"]);

export function mountDeploy(root: HTMLElement, store: Store<AppState>, actions: Actions): () => void {
  const target = h("select", { class: "select", testid: "deploy-target", id: "deploy-target" });
  for (const t of TARGETS) target.append(h("option", { value: t.value }, t.label));
  const token = h("input", { class: "input", type: "password", id: "deploy-token", testid: "deploy-token", autocomplete: "off", spellcheck: "false", placeholder: "Paste a token" });
  const hint = h("p", { class: "muted small" });
  const result = h("div", { class: "deploy-result", testid: "deploy-result", "aria-live": "polite" });
  const goLabel = h("span", {}, "Deploy");
  const go = h("button", { class: "btn btn-primary", testid: "deploy-submit" }, icon("rocket"), goLabel);
  const scheduleBox = h("div", { class: "schedule-box" });
  const cancel = h("button", { class: "btn btn-ghost" }, "Close");
  const version = h("span", { class: "muted small" });
  const dialog = h(
    "dialog",
    { class: "dialog", testid: "deploy-dialog" },
    h("div", { class: "dialog-head" }, h("h2", {}, "Deploy"), version),
    h("label", { class: "field", for: "deploy-target" }, h("span", {}, "Target"), target),
    h("label", { class: "field", for: "deploy-token" }, h("span", {}, "Token"), token),
    hint,
    scheduleBox,
    result,
    h("div", { class: "dialog-foot" }, cancel, go),
  );
  root.append(dialog);
  const schedules = mountSchedules(scheduleBox, store, actions, {
    target: () => target.value as DeployTarget,
    token: () => token.value,
  });
  schedules.onToggle((on) => {
    goLabel.textContent = on ? "Create schedule" : "Deploy";
  });

  let polling = 0;
  const syncHint = (): void => {
    const t = TARGETS.find((x) => x.value === target.value);
    hint.textContent = `${t?.hint ?? ""}. Tokens are sent once with this deploy and never stored.`;
    token.disabled = target.value === "s3";
    token.placeholder = token.disabled ? "Not needed" : "Paste a token";
  };
  target.addEventListener("change", syncHint);
  cancel.addEventListener("click", () => {
    polling++;
    token.value = "";
    dialog.close();
  });
  dialog.addEventListener("close", () => {
    token.value = "";
  });

  const show = (d: Deployment): void => {
    const log = Array.isArray(d.log) ? d.log.join("\n") : (d.log ?? "");
    replaceChildren(
      result,
      h("div", { class: `deploy-state ${d.state}` }, h("span", { class: `status-dot ${d.state}` }), d.state),
      d.url ? h("a", { href: d.url, target: "_blank", rel: "noopener noreferrer", class: "deploy-url" }, d.url) : null,
      d.error ? h("div", { class: "turn-error" }, d.error.message) : null,
      log ? h("pre", { class: "deploy-log" }, log) : null,
    );
  };

  go.addEventListener("click", async () => {
    const { project, version: v } = store.get();
    if (!project || !v) return;
    go.disabled = true;
    if (schedules.enabled()) {
      replaceChildren(result);
      await schedules.create().catch(() => undefined);
      token.value = "";
      go.disabled = false;
      return;
    }
    replaceChildren(result, h("div", { class: "muted small" }, "Starting deploy…"));
    const mine = ++polling;
    try {
      const accepted = await actions.api.deploy({
        project_id: project.project_id,
        version: v,
        target: target.value as DeployTarget,
        ...(token.value ? { token: token.value } : {}),
      });
      token.value = "";
      for (;;) {
        if (mine !== polling) return;
        const d = await actions.api.deployment(accepted.deployment_id);
        show(d);
        if (FINAL.has(d.state)) break;
        await new Promise((r) => setTimeout(r, 1000));
      }
    } catch (err) {
      const unavailable = err instanceof ApiError && err.status === 404;
      replaceChildren(
        result,
        h("div", { class: "turn-error", testid: "deploy-error" }, unavailable ? "Deploys are not available on this server." : describeError(err)),
      );
    } finally {
      go.disabled = false;
    }
  });

  return () => {
    const { version: v } = store.get();
    version.textContent = v ? `version ${v}` : "";
    replaceChildren(result);
    syncHint();
    schedules.refresh();
    dialog.showModal();
  };
}
