import { describe, expect, it } from "vitest";
import { ApiClient, ApiError, TOKEN_KEY, adoptToken, type TokenStore } from "./client";

type Handler = (url: string, call: Call) => Response | Promise<Response>;

/** One request as the server would see it: path and query, method, headers, body. */
interface Call {
  url: string;
  method: string;
  headers: Headers;
  body: string;
}

function memoryStore(initial: Record<string, string> = {}): TokenStore & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return {
    data,
    getItem: (k) => data.get(k) ?? null,
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
  };
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

function client(handler: Handler, storage = memoryStore({ [TOKEN_KEY]: "t1" })) {
  const calls: Call[] = [];
  const fetchImpl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const call = { url: url.pathname + url.search, method: request.method, headers: request.headers, body: await request.text() };
    calls.push(call);
    return handler(call.url, call);
  }) as typeof fetch;
  // Node's Request needs an absolute URL; in the browser the page's origin is the default.
  return { api: new ApiClient({ origin: "http://kiln.test", fetch: fetchImpl, storage }), calls, storage };
}

function header(call: Call, name: string): string | undefined {
  return call.headers.get(name) ?? undefined;
}

describe("ApiClient", () => {
  it("sends the stored token as a bearer header", async () => {
    const { api, calls } = client(() => json(200, []));
    await api.projects();
    expect(header(calls[0]!, "Authorization")).toBe("Bearer t1");
  });

  it("creates a session when there is no token and stores it", async () => {
    const { api, calls, storage } = client(
      (url) => (url.endsWith("/sessions") ? json(201, { token: "new" }) : json(200, [])),
      memoryStore(),
    );
    await api.projects();
    expect(calls.map((c) => c.url)).toEqual(["/api/sessions", "/api/projects"]);
    expect(storage.data.get(TOKEN_KEY)).toBe("new");
  });

  it("turns the error body into an ApiError with code, message and details", async () => {
    const { api } = client(() =>
      json(409, { error: { code: "version_conflict", message: "stale", details: { current_version: 4 } } }),
    );
    const err = await api.saveVersion("p", { base_version: 1, files: {}, deleted: [] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 409, code: "version_conflict", message: "stale", details: { current_version: 4 } });
  });

  it("reports a non-JSON error response by its status", async () => {
    const { api } = client(() => new Response("<html>Bad Gateway</html>", { status: 502, statusText: "Bad Gateway" }));
    await expect(api.projects()).rejects.toMatchObject({ status: 502, code: "http_502", message: "502 Bad Gateway" });
  });

  it("reports an unreachable server as a network error", async () => {
    const { api } = client(() => {
      throw new TypeError("Failed to fetch");
    });
    await expect(api.projects()).rejects.toMatchObject({ status: 0, code: "network_error" });
  });

  it("replaces a rejected token with a new session once and retries", async () => {
    const { api, calls, storage } = client((url, call) => {
      if (url.endsWith("/sessions")) return json(201, { token: "t2" });
      return header(call, "Authorization") === "Bearer t2" ? json(200, []) : json(401, { error: { code: "unauthorized", message: "no" } });
    });
    await expect(api.projects()).resolves.toEqual([]);
    expect(calls.map((c) => c.url)).toEqual(["/api/projects", "/api/sessions", "/api/projects"]);
    expect(storage.data.get(TOKEN_KEY)).toBe("t2");
  });

  it("gives up after the fresh session is rejected too", async () => {
    const { api } = client((url) =>
      url.endsWith("/sessions") ? json(201, { token: "t2" }) : json(401, { error: { code: "unauthorized", message: "no" } }),
    );
    await expect(api.projects()).rejects.toMatchObject({ status: 401, code: "unauthorized" });
  });

  it("sends JSON bodies with a content type", async () => {
    const { api, calls } = client(() => json(202, { job_id: "j", project_id: "p", status_url: "/x", provider: "starter" }));
    await api.generate({ prompt: "hi", framework: "react" });
    expect(header(calls[0]!, "Content-Type")).toBe("application/json");
    expect(JSON.parse(String(calls[0]!.body))).toEqual({ prompt: "hi", framework: "react" });
  });

  it("passes the event cursor when polling a job", async () => {
    const { api, calls } = client(() => json(200, { job_id: "j", status: "running", events: [], next: 7 }));
    await api.job("j", 7);
    expect(calls[0]!.url).toBe("/api/jobs/j?after=7");
  });
  it("asks for the import map alone when resolving packages without a lockfile", async () => {
    const { api, calls } = client(() => json(200, { packages: {}, importmap: { imports: {} }, lockfile: null }));
    await api.resolvePackages({ dependencies: { react: "^19" } }, { lockfile: false });
    expect(calls[0]!.url).toBe("/api/packages/resolve?lockfile=false");
    expect(JSON.parse(calls[0]!.body)).toEqual({ dependencies: { react: "^19" } });
  });

  it("asks for a preview link of one version with its lifetime", async () => {
    const { api, calls } = client(() => json(201, { url: "/api/previews/tok/", token: "tok", expires_at: "2026-01-08T00:00:00Z" }));
    const link = await api.shareVersion("p1", 3, 24);
    expect(calls[0]!.url).toBe("/api/projects/p1/versions/3/preview");
    expect(calls[0]!.method).toBe("POST");
    expect(JSON.parse(String(calls[0]!.body))).toEqual({ ttl_hours: 24 });
    expect(link.token).toBe("tok");
  });

  it("reports a red version's share request by its code", async () => {
    const { api } = client(() => json(409, { error: { code: "version_red", message: "version 2 does not build" } }));
    await expect(api.shareVersion("p1", 2)).rejects.toMatchObject({ status: 409, code: "version_red" });
  });

  it("downloads the chat transcript with the bearer token", async () => {
    const { api, calls } = client(() => new Response("# Chat\n", { status: 200, headers: { "Content-Type": "text/markdown" } }));
    const blob = await api.transcript("p1");
    expect(calls[0]!.url).toBe("/api/projects/p1/transcript.md");
    expect(header(calls[0]!, "Authorization")).toBe("Bearer t1");
    expect(await blob.text()).toBe("# Chat\n");
  });

  it("clears a project's budget with a PATCH", async () => {
    const { api, calls } = client(() => json(200, { project_id: "p1" }));
    await api.updateProject("p1", { clear_budget: true });
    expect(calls[0]!.method).toBe("PATCH");
    expect(JSON.parse(String(calls[0]!.body))).toEqual({ clear_budget: true });
  });
});

describe("adoptToken", () => {
  const store = (): ReturnType<typeof memoryStore> => memoryStore();
  const token = "kiln_abcdefghijklmnopqrstuvwxyz0123456789";

  it("keeps a token handed over in the URL and takes it out of the URL", () => {
    const s = store();
    expect(adoptToken(`#token=${token}&/p/p_1`, s)).toBe("#/p/p_1");
    expect(s.data.get(TOKEN_KEY)).toBe(token);
    expect(adoptToken(`#token=${token}`, store())).toBe("");
  });

  it("leaves other hashes and malformed tokens alone", () => {
    const s = store();
    expect(adoptToken("#/p/p_1", s)).toBe("#/p/p_1");
    expect(adoptToken("#token=<script>", s)).toBe("#token=<script>");
    expect(s.data.size).toBe(0);
  });
});
