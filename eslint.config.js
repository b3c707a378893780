// ESLint for every TypeScript file in the repository, with type information from
// tsconfig.json (typescript-eslint's project service). Formatting is Prettier's job:
// eslint-config-prettier comes last and turns off every rule that would fight it.
// `make lint` runs this, Prettier and dependency-cruiser (.dependency-cruiser.js).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier/flat';
import { defineConfig, globalIgnores } from 'eslint/config';
import tseslint from 'typescript-eslint';

export default defineConfig(
  globalIgnores(['**/node_modules/', 'dist/', '.infra/']),
  {
    files: ['**/*.ts'],
    extends: [js.configs.recommended, tseslint.configs.recommendedTypeChecked],
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: import.meta.dirname,
      },
    },
    linterOptions: {
      reportUnusedDisableDirectives: 'error',
    },
    rules: {
      // The important ones, stated even where the preset already has them, so tuning the preset cannot drop them.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/await-thenable': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_' },
      ],
      // Async functions without await are how this codebase implements Promise-returning interfaces (fakes, Sealer, Authenticator, routes), so a throw becomes a rejection.
      '@typescript-eslint/require-await': 'off',
      // The preset allows lib's URL and URLSearchParams in templates; with lib es2024 and types ["node"] they come from @types/node, and stringify the same way.
      '@typescript-eslint/restrict-template-expressions': [
        'error',
        {
          allow: [
            { from: 'lib', name: ['Error', 'URL', 'URLSearchParams'] },
            { from: 'package', package: 'node', name: ['URL', 'URLSearchParams'] },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts'],
    rules: {
      // Vitest's asymmetric matchers (expect.any, expect.stringContaining, ...) are typed `any` by design and go inside object literals.
      '@typescript-eslint/no-unsafe-assignment': 'off',
    },
  },
  {
    // The configuration files (this one, .dependency-cruiser.js) are ES modules outside tsconfig.json: linted without type information.
    files: ['**/*.js'],
    extends: [js.configs.recommended],
  },
  prettier,
);
