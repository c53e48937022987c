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
      // Only the SDK's public API: its modules are `@pulumi/pulumi` and the Automation API; an
      // internal module or a replaced method can change in any release without a type error.
      "no-restricted-imports": [
        "error",
        { patterns: [{ regex: "^@pulumi/pulumi/(?!automation$)", message: "use the SDK's public API (@pulumi/pulumi, @pulumi/pulumi/automation)" }] },
      ],
      "no-restricted-properties": ["error", { object: "Error", property: "prepareStackTrace", message: "do not change how the process formats stack traces" }],
      "no-restricted-syntax": [
        "error",
        { selector: "AssignmentExpression[left.object.property.name='prototype']", message: "do not patch a class's prototype" },
        { selector: "ImportExpression[source.value=/^@pulumi\\/pulumi\\/(?!automation$)/]", message: "use the SDK's public API" },
        { selector: "TSImportType[argument.literal.value=/^@pulumi\\/pulumi\\/(?!automation$)/]", message: "use the SDK's public API" },
      ],
    },
  },
);
