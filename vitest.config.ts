import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs pure logic with no cluster; `cluster` runs against the real
// hub and spoke kube-apiservers that test/global-setup.ts starts once per run.
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{api,lib,operator,connector,cli,hack,crds,bench}/**/*.test.ts'],
          exclude: ['**/*.cluster.test.ts', '**/node_modules/**'],
        },
      },
      {
        test: {
          name: 'cluster',
          include: ['**/*.cluster.test.ts', 'e2e/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          globalSetup: ['test/global-setup.ts'],
          // Operators reconcile every cluster-scoped Grant in the hub: two suites running
          // operators side by side would reconcile each other's objects and could pass
          // for the wrong reason. One file at a time; tests within a file stay ordered.
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
