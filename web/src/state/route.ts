/** The URL hash names what is open: `#/p/<project_id>` and optionally `/v/<version>`. */

export interface Route {
  projectId: string | null;
  version: number | null;
}

export function parseRoute(hash: string): Route {
  const match = /^#?\/p\/([^/]+)(?:\/v\/(\d+))?\/?$/.exec(hash);
  if (!match) return { projectId: null, version: null };
  return {
    projectId: decodeURIComponent(match[1]!),
    version: match[2] === undefined ? null : Number(match[2]),
  };
}

export function formatRoute(route: Route): string {
  if (!route.projectId) return "#/";
  const base = `#/p/${encodeURIComponent(route.projectId)}`;
  return route.version === null ? base : `${base}/v/${route.version}`;
}
