// Builds the preview's own test page (web/src/preview/harness) with the same Vite pipeline
// as the app: `npx vite build --config scripts/preview-harness.config.mjs --outDir DIR`.
import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

export default defineConfig({
  root: fileURLToPath(new URL("../src/preview/harness", import.meta.url)),
  base: "/",
  logLevel: "warn",
  build: { target: "es2022", emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  worker: { format: "es" },
});
