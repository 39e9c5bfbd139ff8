/**
 * Wire types of kiln's HTTP API, derived from the generated OpenAPI schema
 * (schema.d.ts, `make openapi`) so the UI cannot drift from the server. Only where the
 * server declares a loose dict (usage) is the shape narrowed here.
 */
import type { components } from "./schema";

type Schemas = components["schemas"];

export type Framework = Schemas["Framework"];
export const FRAMEWORKS: readonly Framework[] = ["react", "vue", "vanilla", "python"];

export type JobStatus = Schemas["JobStatus"];
export const FINAL_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

export type BuildState = Schemas["BuildState"];
export type BuildError = Schemas["BuildErrorPublic"];
export type BuildHealth = Schemas["BuildHealth"];
export type ServerHealth = Schemas["HealthPublic"];

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export type GenerationRequest = Omit<Schemas["GenerationRequest"], "context">;
export type GenerationAccepted = Schemas["GenerationAccepted"];

/** Token counts and cost of one job (the server types it as a dict). */
export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cost_usd?: number | null;
  /** False when the model has no known price (cost_usd is then 0, not a real figure). */
  cost_known?: boolean;
}

/** A project's running totals; refunded (uncharged) spend moves to `uncharged_*`. */
export interface ProjectUsage {
  input_tokens?: number;
  output_tokens?: number;
  cost_usd?: number;
  uncharged_usd?: number;
  uncharged_input_tokens?: number;
  uncharged_output_tokens?: number;
}

/** A job as polled; its events are typed by the OpenAPI schema (the server does not validate them). */
export type Job = Omit<Schemas["JobPublic"], "usage"> & { usage?: Usage | null };

export type Project = Omit<Schemas["ProjectPublic"], "usage"> & { usage?: ProjectUsage | null };
export type ProjectUpdate = Partial<Schemas["ProjectUpdate"]>;
export type ProjectCopy = Partial<Schemas["ProjectCopy"]>;
export type VersionSummary = Schemas["VersionSummary"];
export type Version = Schemas["VersionPublic"];
export type HandEdit = Schemas["HandEdit"];
export type VersionChecks = Schemas["VersionChecks"];
export type CheckPublic = Schemas["CheckPublic"];
export type CheckEdit = Omit<Schemas["CheckEdit"], "replaces"> & { replaces?: string | null };
export type ServerTurn = Omit<Schemas["TurnPublic"], "usage"> & { usage?: Usage | null };
export type PreviewLink = Schemas["PreviewLink"];
export type PreviewRequest = Schemas["PreviewRequest"];
export type PackageJson = Schemas["PackageJson"];
export type ResolvedPackages = Schemas["ResolvedPackages"];

/** `GET /api/providers` (untyped in the OpenAPI). */
export interface Provider {
  name: string;
  is_model: boolean;
  configured: boolean;
  /** The provider a generation uses when none is picked. */
  default?: boolean;
  default_model?: string | null;
}

export type DeployTarget = Schemas["DeploymentRequest"]["target"];
export type DeploymentRequest = Omit<Schemas["DeploymentRequest"], "options"> & {
  options?: Schemas["DeploymentRequest"]["options"];
};
export type DeploymentAccepted = Schemas["DeploymentAccepted"];
export type Deployment = Schemas["DeploymentPublic"];
export type ScheduleRequest = Omit<Schemas["ScheduleRequest"], "options"> & {
  options?: Schemas["ScheduleRequest"]["options"];
};
export type Schedule = Schemas["SchedulePublic"];
