// ESLint for web/: typescript-eslint's recommended rules on the app, its scripts and workers.
import js from "@eslint/js";
import globals from "globals";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", "src/api/schema.d.ts"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { ecmaVersion: 2022, sourceType: "module", globals: globals.browser },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": "error",
      eqeqeq: ["error", "smart"],
    },
  },
  { files: ["scripts/**/*.mjs", "*.config.{js,ts}"], languageOptions: { globals: globals.node } },
  { files: ["scripts/snippet-worker.js", "src/**/*-worker.ts"], languageOptions: { globals: globals.worker } },
  // The preview engine is another part's code; its errors keep their own wording for now.
  { files: ["src/preview/**"], rules: { "preserve-caught-error": "off" } },
);
