/// <reference types="vitest/config" />
import { defineConfig } from "vite";

// vitest's reporter calls Map.groupBy, which Node 20 lacks (it came in Node 21).
const mapWithGroupBy = Map as unknown as { groupBy?: unknown };
mapWithGroupBy.groupBy ??= <K, V>(items: Iterable<V>, key: (item: V, i: number) => K) => {
  const groups = new Map<K, V[]>();
  let i = 0;
  for (const item of items) {
    const k = key(item, i++);
    groups.set(k, [...(groups.get(k) ?? []), item]);
  }
  return groups;
};

// `npx vite` proxies the API to a running `kiln dev` (KILN_API, default :8000).
const api = process.env.KILN_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  server: {
    proxy: { "/api": { target: api, changeOrigin: true } },
    headers: {
      "Cross-Origin-Opener-Policy": "same-origin",
      "Cross-Origin-Embedder-Policy": "require-corp",
    },
  },
  build: {
    outDir: "dist",
    target: "es2022",
    sourcemap: false,
    chunkSizeWarningLimit: 1500,
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
