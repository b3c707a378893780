// The Node flags and the environment each program runs with: in its container (NODE_OPTIONS
// and env in config/operator and config/connector) and wherever tests, benchmarks and
// `make dev` start it.
//
// V8 sizes its heap from the machine, not from the container: on a large node it lets
// garbage pile up to several times the live set before a full collection, so an
// operator that holds ~100 MiB of objects reached 540 MiB RSS during a first reconcile of
// 10,000 Grants. An old-space cap makes it collect in time; it must stay above the live
// set, so raise it together with the memory limit for much larger hubs (docs/operator.md).
// The connector's live set at 10,000 Grants is under 100 MiB; lower caps (128, 192) were
// measured to slow its cold sync two- to threefold in garbage collection (bench/README.md).
// Both cap the young generation too: V8 gave the connector ~100 MiB of semi-spaces on a
// large machine, and 2 MiB semi-spaces took ~100 MiB off its cold-sync peak; the operator
// got 32 MiB of new space, which a first reconcile fills (bench/README.md). The connector's
// proxy thread gets 4 MiB semi-spaces of its own (proxyThreadV8Flags).
export const nodeFlags = {
  operator: ['--max-old-space-size=256', '--max-semi-space-size=2'],
  connector: ['--max-old-space-size=256', '--max-semi-space-size=2'],
} as const;

/**
 * V8 flags for the isolate of the connector's proxy thread (connector/proxy/thread.ts), set
 * just before it starts. V8 reads the semi-space size once per isolate, when it creates the
 * isolate's heap, and the flag is the only way to raise it for one: a worker's
 * `resourceLimits` cannot exceed what the process flag allows. With 2 MiB semi-spaces the
 * proxy collected garbage about every 40 requests, about 6% of its CPU per request (a bare
 * proxy measured with both sizes in the same run); the controllers on the main thread keep
 * 2 MiB, which takes ~5 MiB off the cold-sync peak (bench/README.md, session 36).
 */
export const proxyThreadV8Flags: readonly string[] = ['--max-semi-space-size=4'];

export type Program = keyof typeof nodeFlags;

/**
 * V8 flags that Node refuses in NODE_OPTIONS, given on node's command line instead: in the
 * image's ENTRYPOINT (Dockerfile) and wherever hack/ starts a program.
 *
 * `--liftoff-only` keeps WebAssembly on V8's baseline compiler. The connector's only
 * WebAssembly is undici's HTTP/1.1 parser (llhttp), and its only HTTP/1.1 peer is the
 * operator's public door, for the JWKS once a minute: its calls to API servers are HTTP/2.
 * After a few of those fetches V8 recompiled the parser with TurboFan, a burst of ~20 MiB
 * of native memory for a fraction of a second, which set the connector's peak whenever a
 * cold sync was still running a minute in (bench/README.md, "Session 31").
 */
export const commandLineFlags: Readonly<Record<Program, readonly string[]>> = {
  operator: [],
  connector: ['--liftoff-only'],
};

/**
 * glibc's malloc keeps memory a program has freed inside its heap, and raises its mmap
 * threshold each time it frees a large block, so ever larger blocks land in that heap too.
 * A program's largest burst of native memory is its start: V8 parses the whole bundle
 * (client-node inside) in zone segments of up to 32 KiB, about 24 MiB at the peak
 * (heaptrack), and glibc held ~22 MiB of it in RSS for the life of the process. A fixed
 * 32 KiB threshold gives each segment its own mapping, returned when freed: an idle
 * connector's RSS fell from 113 to 90 MiB (bench/README.md). musl, the allocator of the
 * published Alpine images, does not read the variable.
 */
export const programEnv: Readonly<Record<Program, Readonly<Record<string, string>>>> = {
  operator: { MALLOC_MMAP_THRESHOLD_: '32768' },
  connector: { MALLOC_MMAP_THRESHOLD_: '32768' },
};
