// Lint: typescript-eslint's recommended rules, and Pulumi's own (no Output inside a template
// literal, which would print a placeholder instead of the value). Type-aware, so it reads tsconfig.
import pulumi from "@pulumi/eslint-plugin";
import tseslint from "typescript-eslint";

export default tseslint.config(
  // test/fixtures/ holds code that must fail the lint; test/lint.test.ts checks that it does.
  { ignores: ["node_modules/", "dist/", "out/", ".lab/", "**/*.js", "**/*.mjs", "test/fixtures/"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    plugins: { "@pulumi": pulumi },
    rules: {
      "@pulumi/no-output-in-template-literal": "error",
      "@pulumi/no-output-instance-in-template-literal": "error",
      // A name starting with _ is dropped on purpose (a key taken out of an object by destructuring).
      "@typescript-eslint/no-unused-vars": ["error", { varsIgnorePattern: "^_", argsIgnorePattern: "^_" }],
    },
  },
);
