/**
 * The one place that talks HTTP to kiln. Every failure becomes an ApiError with
 * the server's stable `code`, so the UI can show a message a person can act on.
 */
import type {
  Deployment,
  DeploymentAccepted,
  DeploymentRequest,
  ErrorBody,
  GenerationAccepted,
  GenerationRequest,
  HandEdit,
  Job,
  PreviewLink,
  Project,
  ProjectUpdate,
  Provider,
  ServerHealth,
  Schedule,
  ScheduleRequest,
  ServerTurn,
  Version,
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
  base?: string;
  fetch?: typeof fetch;
  storage?: TokenStore | null;
}

interface RequestOptions {
  body?: unknown;
  auth?: boolean;
  signal?: AbortSignal;
}

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== "object" || value === null || !("error" in value)) return false;
  const err = (value as { error: unknown }).error;
  return typeof err === "object" && err !== null && "code" in err && "message" in err;
}

/** Turn a non-2xx response into an ApiError, whatever its body looks like. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  const text = await res.text().catch(() => "");
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = null;
  }
  if (isErrorBody(parsed)) {
    const { code, message, details } = parsed.error;
    return new ApiError(res.status, code, message, details);
  }
  const fallback = text && text.length < 200 && !text.trimStart().startsWith("<") ? text : "";
  const message = fallback || `${res.status} ${res.statusText || "request failed"}`.trim();
  return new ApiError(res.status, `http_${res.status}`, message);
}

export class ApiClient {
  private readonly base: string;
  private readonly fetchImpl: typeof fetch;
  private readonly storage: TokenStore | null;
  private token: string | null;
  private pendingSession: Promise<string> | null = null;

  constructor(options: ApiClientOptions = {}) {
    this.base = options.base ?? "/api";
    this.fetchImpl = options.fetch ?? ((input, init) => fetch(input, init));
    this.storage = options.storage === undefined ? defaultStorage() : options.storage;
    this.token = this.storage?.getItem(TOKEN_KEY) ?? null;
  }

  /** A token for this browser, created once and reused across reloads. */
  async ensureSession(): Promise<string> {
    if (this.token) return this.token;
    this.pendingSession ??= this.send<{ token: string }>("POST", "/sessions", { auth: false })
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

  /** JSON request with the bearer token; a 401 (stale token) gets one fresh session. */
  async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const res = await this.authorized(method, path, options);
    if (res.status === 204) return undefined as T;
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Binary download (zip) with the bearer token. */
  async blob(path: string): Promise<Blob> {
    const res = await this.authorized("GET", path, {});
    return res.blob();
  }

  private async authorized(method: string, path: string, options: RequestOptions): Promise<Response> {
    if (options.auth === false) return this.raw(method, path, options, null);
    const token = await this.ensureSession();
    try {
      return await this.raw(method, path, options, token);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      this.forgetSession();
      return this.raw(method, path, options, await this.ensureSession());
    }
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const res = await this.raw(method, path, options, null);
    return (await res.json()) as T;
  }

  private async raw(
    method: string,
    path: string,
    options: RequestOptions,
    token: string | null,
  ): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (options.body !== undefined) headers["Content-Type"] = "application/json";
    if (token) headers["Authorization"] = `Bearer ${token}`;
    let res: Response;
    try {
      res = await this.fetchImpl(this.base + path, {
        method,
        headers,
        body: options.body === undefined ? null : JSON.stringify(options.body),
        signal: options.signal ?? null,
      });
    } catch (err) {
      if (err instanceof DOMException && err.name === "AbortError") throw err;
      throw new ApiError(0, "network_error", "Cannot reach the kiln server. Is it running?");
    }
    if (!res.ok) throw await errorFromResponse(res);
    return res;
  }

  // --- endpoints -------------------------------------------------------------------

  /** Exact versions and the preview's import map for a package.json's dependency ranges. */
  resolvePackages(body: { dependencies: Record<string, string>; devDependencies: Record<string, string> }): Promise<{
    packages: Record<string, string>;
    importmap: { imports: Record<string, string>; scopes?: Record<string, Record<string, string>> };
  }> {
    return this.request("POST", "/packages/resolve", { body });
  }
  /** The server's state and the settings the browser needs (Pyodide's package URL). */
  health(): Promise<ServerHealth> {
    return this.request("GET", "/health");
  }
  providers(): Promise<Provider[]> {
    return this.request("GET", "/providers");
  }
  generate(body: GenerationRequest): Promise<GenerationAccepted> {
    return this.request("POST", "/generations", { body });
  }
  job(jobId: string, after: number, signal?: AbortSignal): Promise<Job> {
    const opts: RequestOptions = signal ? { signal } : {};
    return this.request("GET", `/jobs/${enc(jobId)}?after=${after}`, opts);
  }
  cancelJob(jobId: string): Promise<void> {
    return this.request("POST", `/jobs/${enc(jobId)}/cancel`);
  }
  projects(): Promise<Project[]> {
    return this.request("GET", "/projects");
  }
  project(projectId: string): Promise<Project> {
    return this.request("GET", `/projects/${enc(projectId)}`);
  }
  versions(projectId: string): Promise<VersionSummary[]> {
    return this.request("GET", `/projects/${enc(projectId)}/versions`);
  }
  version(projectId: string, version: number): Promise<Version> {
    return this.request("GET", `/projects/${enc(projectId)}/versions/${version}`);
  }
  saveVersion(projectId: string, body: HandEdit): Promise<VersionSummary> {
    return this.request("POST", `/projects/${enc(projectId)}/versions`, { body });
  }
  updateProject(projectId: string, body: ProjectUpdate): Promise<Project> {
    return this.request("PATCH", `/projects/${enc(projectId)}`, { body });
  }
  turns(projectId: string): Promise<ServerTurn[]> {
    return this.request("GET", `/projects/${enc(projectId)}/turns`);
  }
  transcript(projectId: string): Promise<Blob> {
    return this.blob(`/projects/${enc(projectId)}/transcript.md`);
  }
  shareVersion(projectId: string, version: number, ttlHours?: number): Promise<PreviewLink> {
    const body = ttlHours === undefined ? {} : { ttl_hours: ttlHours };
    return this.request("POST", `/projects/${enc(projectId)}/versions/${version}/preview`, { body });
  }
  archive(projectId: string, version: number): Promise<Blob> {
    return this.blob(`/projects/${enc(projectId)}/versions/${version}/archive.zip`);
  }
  deploy(body: DeploymentRequest): Promise<DeploymentAccepted> {
    return this.request("POST", "/deployments", { body });
  }
  deployment(deploymentId: string): Promise<Deployment> {
    return this.request("GET", `/deployments/${enc(deploymentId)}`);
  }
  schedules(projectId: string): Promise<Schedule[]> {
    return this.request("GET", `/projects/${enc(projectId)}/schedules`);
  }
  createSchedule(projectId: string, body: ScheduleRequest): Promise<Schedule> {
    return this.request("POST", `/projects/${enc(projectId)}/schedules`, { body });
  }
  deleteSchedule(projectId: string, scheduleId: string): Promise<void> {
    return this.request("DELETE", `/projects/${enc(projectId)}/schedules/${enc(scheduleId)}`);
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

function defaultStorage(): TokenStore | null {
  try {
    return typeof localStorage === "undefined" ? null : localStorage;
  } catch {
    return null;
  }
}
