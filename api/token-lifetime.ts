// How long an Infra token may live, in a module of its own: the signer and verifiers
// (api/tokens.ts), the operator's config and a spoke API server's authentication config
// (api/authentication-config.ts, which the CLI writes) all hold to it, and the CLI should
// not bundle the signing code to learn a number.
export const defaultTokenLifetimeMs = 5 * 60_000;
export const maxTokenLifetimeMs = 10 * 60_000;
