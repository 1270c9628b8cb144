// ESLint over the PWA's plain ES modules (pwa/static): the recommended rules, browser and service-worker globals.
// tests/test_js_lint.py runs it.
import js from "@eslint/js";
import globals from "globals";

export default [
  js.configs.recommended,
  {
    files: ["pwa/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser, ...globals.serviceworker },
    },
    rules: {
      // A caught error that is deliberately ignored is named (error, ignored): that is not a mistake.
      "no-unused-vars": ["error", { caughtErrors: "none" }],
      // The screens take a parameter named `screen` (app.js); the browser's window.screen is never meant.
      "no-restricted-globals": ["error", "screen"],
    },
  },
];
