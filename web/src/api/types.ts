/**
 * Wire types of kiln's HTTP API, written by hand from the contract until
 * web/openapi.json lands and `npm run gen:api` produces schema.d.ts.
 */
import type { SequencedEvent } from "../events";

export type Framework = "react" | "vue" | "vanilla" | "python";
export const FRAMEWORKS: readonly Framework[] = ["react", "vue", "vanilla", "python"];

export type JobStatus = "queued" | "running" | "succeeded" | "failed" | "cancelled";
export const FINAL_STATUSES: readonly JobStatus[] = ["succeeded", "failed", "cancelled"];

export type BuildState = "green" | "red" | "unknown";

export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export interface GenerationRequest {
  prompt: string;
  framework: Framework;
  project_id?: string;
  base_version?: number;
  provider?: string;
  model?: string;
}

export interface GenerationAccepted {
  job_id: string;
  project_id: string;
  status_url: string;
  provider: string;
  notice?: string | null;
}

export interface Usage {
  input_tokens: number;
  output_tokens: number;
  cost_usd?: number | null;
  /** False when the model has no known price (cost_usd is then 0, not a real figure). */
  cost_known?: boolean;
}

export interface Job {
  job_id: string;
  kind: string;
  status: JobStatus;
  project_id?: string | null;
  version?: number | null;
  provider?: string | null;
  model?: string | null;
  notice?: string | null;
  attempt: number;
  events: SequencedEvent[];
  next: number;
  error?: { code: string; message: string } | null;
  usage?: Usage | null;
}

export interface Project {
  project_id: string;
  name: string;
  framework: Framework;
  latest_version: number;
  last_green_version?: number | null;
  created_at: string;
  updated_at: string;
}

export interface VersionSummary {
  version: number;
  parent?: number | null;
  prompt?: string | null;
  job_id?: string | null;
  build: BuildState;
  files: number;
  created_at: string;
}

export interface Version {
  project_id: string;
  version: number;
  files: Record<string, string>;
  manifest: Record<string, { sha256: string; size: number }>;
  parent?: number | null;
  prompt?: string | null;
  job_id?: string | null;
  build: BuildState;
  created_at: string;
}

export interface HandEdit {
  base_version: number;
  files: Record<string, string>;
  deleted: string[];
  message?: string;
}

export interface Provider {
  name: string;
  is_model: boolean;
  configured: boolean;
  default_model?: string | null;
}

export type DeployTarget = "vercel" | "netlify" | "github" | "s3";

export interface DeploymentRequest {
  project_id: string;
  version: number;
  target: DeployTarget;
  token?: string;
}

export interface DeploymentAccepted {
  deployment_id: string;
  job_id?: string;
}

export interface Deployment {
  deployment_id: string;
  state: string;
  target?: string;
  url?: string | null;
  log?: string[] | string | null;
  error?: { code: string; message: string } | null;
}

export interface ScheduleRequest {
  expression: string;
  target: DeployTarget;
  version?: number;
  token?: string;
}

export interface Schedule {
  schedule_id: string;
  project_id: string;
  expression: string;
  target: DeployTarget;
  version?: number | null;
  has_token: boolean;
  next_run: string;
  runs: { time: string; deployment_id?: string | null; state: string; error?: string | null }[];
  created_at: string;
}
