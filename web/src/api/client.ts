/**
 * The one place that talks HTTP to kiln. Every failure becomes an ApiError with
 * the server's stable `code`, so the UI can show a message a person can act on.
 */
import createClient, { type Client } from "openapi-fetch";
import { pushUrl } from "./push";
import type { paths } from "./schema";
import type {
  Deployment,
  DeploymentAccepted,
  DeploymentRequest,
  ErrorBody,
  GenerationAccepted,
  GenerationRequest,
  CheckEdit,
  HandEdit,
  PackageJson,
  ResolvedPackages,
  Job,
  PreviewLink,
  Project,
  ProjectCopy,
  ProjectUpdate,
  Provider,
  ServerHealth,
  Schedule,
  ScheduleRequest,
  ServerTurn,
  Version,
  VersionChecks,
  VersionSummary,
} from "./types";

export const TOKEN_KEY = "kiln.token";

/**
 * A token handed to this browser in the URL (`#token=kiln_…`, as an original-interface
 * client that got one from the WebSocket or a legacy reply would link to the app) is kept
 * as this browser's session, and removed from the URL so it stays out of history.
 * Returns the hash to continue with.
 */
export function adoptToken(hash: string, storage: TokenStore | null): string {
  const match = /^#token=(kiln_[A-Za-z0-9_-]{20,100})(?:&(.*))?$/.exec(hash);
  if (!match) return hash;
  storage?.setItem(TOKEN_KEY, match[1]!);
  return match[2] ? `#${match[2]}` : "";
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;

  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/** The subset of Storage the client needs (tests pass a Map-backed one). */
export interface TokenStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ApiClientOptions {
  /** Where kiln serves /api (the page's own origin by default). */
  origin?: string;
  fetch?: typeof fetch;
  storage?: TokenStore | null;
}

/** What every openapi-fetch call answers. */
interface Reply {
  data?: unknown;
  error?: unknown;
  response: Response;
}

/** Sends one call with these headers (the bearer token's, when it has one). */
type Send<R extends Reply> = (headers: Record<string, string>) => Promise<R>;

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const err = (value as { error: unknown }).error;
  return typeof err === "object" && err !== null && "code" in err && "message" in err;
}

/** Turn a non-2xx reply into an ApiError, whatever its body looks like. */
export function errorFromReply(res: Response, body: unknown): ApiError {
  if (isErrorBody(body)) {
    const { code, message, details } = body.error;
    return new ApiError(res.status, code, message, details);
  }
  const text = typeof body === "string" ? body : "";
  const fallback = text && text.length < 200 && !text.trimStart().startsWith("<") ? text : "";
  const message = fallback || `${res.status} ${res.statusText || "request failed"}`.trim();
  return new ApiError(res.status, `http_${res.status}`, message);
}

export class ApiClient {
  private readonly http: Client<paths>;
  private readonly storage: TokenStore | null;
  private token: string | null;
  private pendingSession: Promise<string> | null = null;
  private readonly origin: string;
  private pushConfigured: Promise<string | null> | null = null;

  constructor(options: ApiClientOptions = {}) {
    const fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.http = createClient<paths>({
      baseUrl: (options.origin ?? "").replace(/\/$/, ""),
      fetch: (request) => fetchImpl(request),
      headers: { Accept: "application/json" },
    });
    this.origin = options.origin ?? (typeof location === "undefined" ? "http://localhost/" : location.href);
    this.storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.token = this.storage?.getItem(TOKEN_KEY) ?? null;
  }

  /** A token for this browser, created once and reused across reloads. */
  async ensureSession(): Promise<string> {
    if (this.token) return this.token;
    this.pendingSession ??= this.send((headers) => this.http.POST("/api/sessions", { headers }))
      .then(({ token }) => {
        this.token = token;
        this.storage?.setItem(TOKEN_KEY, token);
        return token;
      })
      .finally(() => {
        this.pendingSession = null;
      });
    return this.pendingSession;
  }

  forgetSession(): void {
    this.token = null;
    this.storage?.removeItem(TOKEN_KEY);
  }

  /** A call with the bearer token; a 401 (stale token) gets one fresh session. */
  private async authorized<R extends Reply>(call: Send<R>): Promise<NonNullable<R["data"]>> {
    const token = await this.ensureSession();
    try {
      return await this.send(call, token);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      this.forgetSession();
      return this.send(call, await this.ensureSession());
    }
  }

  /** For the replies the server types as a loose dict, narrowed in types.ts. */
  private async narrowed<T>(call: Send<Reply>): Promise<T> {
    return (await this.authorized(call)) as T;
  }

  private async send<R extends Reply>(call: Send<R>, token: string | null = null): Promise<NonNullable<R["data"]>> {
    let reply: R;
    try {
      reply = await call(token ? { Authorization: `Bearer ${token}` } : {});
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, "network_error", "Cannot reach the kiln server. Is it running?");
    }
    if (!reply.response.ok) throw errorFromReply(reply.response, reply.error);
    return reply.data as NonNullable<R["data"]>;
  }

  // --- endpoints -------------------------------------------------------------------

  /** Exact versions and the preview's import map for a package.json's dependency ranges. */
  resolvePackages(body: PackageJson, query: { lockfile?: boolean } = {}): Promise<ResolvedPackages> {
    return this.authorized((headers) => this.http.POST("/api/packages/resolve", { headers, body, params: { query } }));
  }
  /** Where to open the WebSocket for pushed job events, and the token to open it with. */
  async pushTarget(): Promise<{ url: string; token: string }> {
    this.pushConfigured ??= this.health().then(
      (h) => h.push_url ?? null,
      () => null,
    );
    const [configured, token] = await Promise.all([this.pushConfigured, this.ensureSession()]);
    return { url: pushUrl(configured, this.origin), token };
  }
  /** The server's state and the settings the browser needs (Pyodide's package URL). */
  health(): Promise<ServerHealth> {
    return this.authorized((headers) => this.http.GET("/api/health", { headers }));
  }
  providers(): Promise<Provider[]> {
    return this.narrowed<Provider[]>((headers) => this.http.GET("/api/providers", { headers }));
  }
  generate(body: GenerationRequest): Promise<GenerationAccepted> {
    return this.authorized((headers) => this.http.POST("/api/generations", { headers, body }));
  }
  job(jobId: string, after: number, signal?: AbortSignal): Promise<Job> {
    const params = { path: { job_id: jobId }, query: { after } };
    return this.narrowed<Job>((headers) => this.http.GET("/api/jobs/{job_id}", { headers, params, ...(signal ? { signal } : {}) }));
  }
  async cancelJob(jobId: string): Promise<void> {
    await this.authorized((headers) => this.http.POST("/api/jobs/{job_id}/cancel", { headers, params: { path: { job_id: jobId } } }));
  }
  projects(): Promise<Project[]> {
    return this.narrowed<Project[]>((headers) => this.http.GET("/api/projects", { headers }));
  }
  project(projectId: string): Promise<Project> {
    const params = { path: { project_id: projectId } };
    return this.narrowed<Project>((headers) => this.http.GET("/api/projects/{project_id}", { headers, params }));
  }
  versions(projectId: string): Promise<VersionSummary[]> {
    const params = { path: { project_id: projectId } };
    return this.authorized((headers) => this.http.GET("/api/projects/{project_id}/versions", { headers, params }));
  }
  version(projectId: string, version: number): Promise<Version> {
    const params = { path: { project_id: projectId, number: version } };
    return this.authorized((headers) => this.http.GET("/api/projects/{project_id}/versions/{number}", { headers, params }));
  }
  saveVersion(projectId: string, body: HandEdit): Promise<VersionSummary> {
    const params = { path: { project_id: projectId } };
    return this.authorized((headers) => this.http.POST("/api/projects/{project_id}/versions", { headers, params, body }));
  }
  checks(projectId: string, version: number): Promise<VersionChecks> {
    const params = { path: { project_id: projectId, number: version } };
    return this.authorized((headers) => this.http.GET("/api/projects/{project_id}/versions/{number}/checks", { headers, params }));
  }
  /** Add or replace a check by hand: a new version, like a hand edit. */
  putCheck(projectId: string, body: CheckEdit): Promise<VersionSummary> {
    const params = { path: { project_id: projectId } };
    return this.authorized((headers) => this.http.PUT("/api/projects/{project_id}/checks", { headers, params, body }));
  }
  deleteCheck(projectId: string, name: string, baseVersion: number): Promise<VersionSummary> {
    const params = { path: { project_id: projectId, name }, query: { base_version: baseVersion } };
    return this.authorized((headers) => this.http.DELETE("/api/projects/{project_id}/checks/{name}", { headers, params }));
  }
  checkScreenshot(projectId: string, version: number, index: number): Promise<Blob> {
    const params = { path: { project_id: projectId, number: version, index } };
    return this.authorized((headers) =>
      this.http.GET("/api/projects/{project_id}/versions/{number}/checks/{index}/screenshot.png", { headers, params, parseAs: "blob" }),
    );
  }
  updateProject(projectId: string, body: ProjectUpdate): Promise<Project> {
    const params = { path: { project_id: projectId } };
    return this.narrowed<Project>((headers) => this.http.PATCH("/api/projects/{project_id}", { headers, params, body: withDefaults(body) }));
  }
  duplicateProject(projectId: string, body: ProjectCopy = {}): Promise<Project> {
    const params = { path: { project_id: projectId } };
    return this.narrowed<Project>((headers) => this.http.POST("/api/projects/{project_id}/duplicate", { headers, params, body }));
  }
  async deleteProject(projectId: string): Promise<void> {
    const params = { path: { project_id: projectId } };
    await this.authorized((headers) => this.http.DELETE("/api/projects/{project_id}", { headers, params }));
  }
  turns(projectId: string): Promise<ServerTurn[]> {
    const params = { path: { project_id: projectId } };
    return this.narrowed<ServerTurn[]>((headers) => this.http.GET("/api/projects/{project_id}/turns", { headers, params }));
  }
  transcript(projectId: string): Promise<Blob> {
    const params = { path: { project_id: projectId } };
    return this.authorized((headers) =>
      this.http.GET("/api/projects/{project_id}/transcript.md", { headers, params, parseAs: "blob" }),
    );
  }
  shareVersion(projectId: string, version: number, ttlHours?: number): Promise<PreviewLink> {
    const params = { path: { project_id: projectId, number: version } };
    const body = ttlHours === undefined ? {} : { ttl_hours: ttlHours };
    return this.authorized((headers) =>
      this.http.POST("/api/projects/{project_id}/versions/{number}/preview", { headers, params, body }),
    );
  }
  archive(projectId: string, version: number): Promise<Blob> {
    const params = { path: { project_id: projectId, number: version } };
    return this.authorized((headers) =>
      this.http.GET("/api/projects/{project_id}/versions/{number}/archive.zip", { headers, params, parseAs: "blob" }),
    );
  }
  deploy(body: DeploymentRequest): Promise<DeploymentAccepted> {
    return this.authorized((headers) => this.http.POST("/api/deployments", { headers, body: withDefaults(body) }));
  }
  deployment(deploymentId: string): Promise<Deployment> {
    const params = { path: { deployment_id: deploymentId } };
    return this.authorized((headers) => this.http.GET("/api/deployments/{deployment_id}", { headers, params }));
  }
  schedules(projectId: string): Promise<Schedule[]> {
    const params = { path: { project_id: projectId } };
    return this.authorized((headers) => this.http.GET("/api/projects/{project_id}/schedules", { headers, params }));
  }
  createSchedule(projectId: string, body: ScheduleRequest): Promise<Schedule> {
    const params = { path: { project_id: projectId } };
    return this.authorized((headers) => this.http.POST("/api/projects/{project_id}/schedules", { headers, params, body: withDefaults(body) }));
  }
  async deleteSchedule(projectId: string, scheduleId: string): Promise<void> {
    const params = { path: { project_id: projectId, schedule_id: scheduleId } };
    await this.authorized((headers) => this.http.DELETE("/api/projects/{project_id}/schedules/{schedule_id}", { headers, params }));
  }
}

/**
 * A request body whose defaulted fields are left out: openapi-typescript marks a field with
 * a default as required (it is, in the server's reply), and the server fills it in.
 */
function withDefaults<T>(body: Partial<T>): T {
  return body as T;
}

function defaultStorage(): TokenStore | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}
