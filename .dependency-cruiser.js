// The layering of the repository, checked by dependency-cruiser (`make lint`; hack/layering.test.ts proves
// each rule can fail). Paths are relative to the repository root, e.g. `lib/rest.ts`, `node_modules/zod/...`.
//
//   programs: operator/ connector/ cli/  each ships as one bundle from its main.ts (hack/build.ts), the
//             connector a second from its proxy thread's script (connector/proxy/thread-worker.ts)
//   lib/:     the shared runtime: knows no program and no kind
//   api/:     the contract between the programs
//   tooling:  hack/ (local tooling), test/ (the vitest harness), bench/, e2e/: never shipped
//
// Tests (`*.test.ts`) live next to the code they test and may use the harness (test/) and the local control
// plane (hack/); cli/testing.ts is the CLI's test-only helper. A rule whose name appears twice has two parts:
// what every file of the folder must not import, and what only its non-test files must not import.

/** Test code: any `*.test.ts` (unit and cluster), and the test-only helpers that live beside shipped code. */
const testCode = ['\\.test\\.ts$', '^cli/testing\\.ts$'];

/** @type {import('dependency-cruiser').IConfiguration} */
export default {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'A cycle ties its files together: none can be understood, tested or moved without the others, and at run time the import order starts to matter. `import type` edges count too.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-program-to-program',
      severity: 'error',
      comment:
        'operator/, connector/ and cli/ are separate programs that talk only through api/; code two of them need belongs in lib/ or api/. Applies to their tests too.',
      from: { path: '^(operator|connector|cli)/' },
      to: { path: '^(operator|connector|cli)/', pathNot: '^$1/' },
    },
    {
      name: 'lib-knows-no-program',
      severity: 'error',
      comment: 'lib/ is the shared runtime: it knows no program, no kind (api/) and no tooling; its tests included.',
      from: { path: '^lib/' },
      to: { path: '^(operator|connector|cli|api|bench|e2e)/' },
    },
    {
      name: 'lib-knows-no-program',
      severity: 'error',
      comment: "lib/ ships inside every program: only lib's tests may use the test harness (test/) and the local control plane (hack/).",
      from: { path: '^lib/', pathNot: testCode },
      to: { path: '^(hack|test)/' },
    },
    {
      name: 'api-is-the-contract',
      severity: 'error',
      comment: 'api/ is the contract between the programs: plain types, schemas and rules that depend on no runtime, program or tooling; its tests included.',
      from: { path: '^api/' },
      to: { path: '^(lib|operator|connector|cli|bench|e2e)/' },
    },
    {
      name: 'api-is-the-contract',
      severity: 'error',
      comment: "api/ ships inside every program: only api's tests may use the test harness (test/) and hack/ (e.g. the type generator they check).",
      from: { path: '^api/', pathNot: testCode },
      to: { path: '^(hack|test)/' },
    },
    {
      name: 'shipped-code-stays-clean',
      severity: 'error',
      comment:
        "Each program ships everything its main.ts reaches, and the connector what its proxy thread's script reaches (hack/build.ts bundles them): none of that may be tooling (hack/, test/, bench/, e2e/) or test code.",
      from: { path: '^((operator|connector|cli)/main|connector/proxy/thread-worker)\\.ts$' },
      to: { path: ['^(hack|test|bench|e2e)/', ...testCode], reachable: true },
    },
    {
      name: 'shipped-code-stays-clean',
      severity: 'error',
      comment:
        "A program's non-test files are shipped, or are about to be: they import no tooling (hack/, test/, bench/, e2e/). lib/ and api/ have this part in their own rules.",
      from: { path: '^(operator|connector|cli)/', pathNot: testCode },
      to: { path: '^(hack|test|bench|e2e)/' },
    },
    {
      name: 'hack-not-test',
      severity: 'error',
      comment: 'hack/ is the local tooling `make dev` and the build run outside any test: it must not depend on the benchmarks or the e2e suites.',
      from: { path: '^hack/' },
      to: { path: '^(bench|e2e)/' },
    },
    {
      name: 'hack-not-test',
      severity: 'error',
      comment:
        "hack/'s non-test files run outside vitest (make dev, the build): they must not depend on the test harness; shared start-up code belongs in hack/.",
      from: { path: '^hack/', pathNot: testCode },
      to: { path: '^test/' },
    },
    {
      name: 'bench-not-test',
      severity: 'error',
      comment: 'bench/ measures the programs, it does not depend on the e2e suites.',
      from: { path: '^bench/' },
      to: { path: '^e2e/' },
    },
    {
      name: 'bench-not-test',
      severity: 'error',
      comment: "bench/'s non-test files run as `npm run bench`, outside vitest: they start programs through hack/, not through the test harness.",
      from: { path: '^bench/', pathNot: testCode },
      to: { path: '^test/' },
    },
    {
      name: 'not-to-dev-dep',
      severity: 'error',
      comment:
        'Shipped code may import only `dependencies` from package.json: devDependencies are not installed where the programs run. Type-only imports are erased.',
      from: { path: '^(operator|connector|cli|lib|api)/', pathNot: testCode },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'], pathNot: '^node_modules/@types/' },
    },
    {
      name: 'no-non-package-json',
      severity: 'error',
      comment:
        'Every package imported must be in package.json; one that only happens to be in node_modules (a transitive dependency) can vanish on any install.',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      comment: 'An import that resolves to no file fails at run time (or the bundle build); imports name their file, with the .ts extension.',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    // npm packages are nodes of the graph (for the package.json rules), but their own imports are not followed.
    doNotFollow: { path: '(^|/)node_modules/' },
    exclude: { path: '^(dist|\\.infra)/' },
    // `import type` counts: a type-only import still couples the layers, and still has to resolve.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    skipAnalysisNotInRules: true,
  },
};
