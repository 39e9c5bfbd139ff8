/** Problems the preview reports to the app shell (build errors, runtime errors, console.error). */
export interface Problem {
  source: "build" | "runtime" | "console";
  message: string;
  file?: string;
  line?: number;
  column?: number;
  /** The package service's error code (package_not_found, registry_unavailable, ...). */
  code?: string;
}

/** A build error with a location, thrown by the bundler and the SFC compiler. */
export class BuildError extends Error {
  constructor(readonly problems: Problem[]) {
    super(problems.map(formatProblem).join("\n"));
    this.name = "BuildError";
  }
}

export function formatProblem(p: Problem): string {
  const where = p.file ? `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ""}` : ""}: ` : "";
  return `${where}${p.message}`;
}
