// Logging in through an identity provider: the code (or device) exchange, the User made
// just in time with the provider's groups, and a session that carries the sealed upstream
// refresh token for continuous verification (identity/verification.ts). Also the device
// flow's start (DeviceAuthorization) and what the CLI needs to start a login.
import type { DeviceAuthorizationStatus, LoginProvider, LoginSpec } from '../../api/auth/v1alpha1/types.ts';
import type { Provider, User } from '../../api/v1alpha1/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import { findCondition } from '../../lib/conditions.ts';
import { StatusError } from '../../lib/status-error.ts';
import type { Credential, ProviderLoginMethod } from '../credentials/store.ts';
import { sealSession, type IdentityDeps } from '../identity/deps.ts';
import { UpstreamError } from '../identity/errors.ts';
import type { UpstreamIdentity } from '../identity/providers.ts';
import { withProviderGroups } from '../identity/users.ts';

export interface ProviderLogin {
  user: User;
  key: string;
  credential: Credential;
}

/** Logs a person in with an authorization code or an approved device code. */
export async function loginWithProvider(deps: IdentityDeps, spec: LoginSpec): Promise<ProviderLogin> {
  const provider = providerNamed(deps, spec.provider!);
  let identity: UpstreamIdentity;
  try {
    if (spec.code !== undefined) {
      identity = await deps.clients.exchangeCode(provider, {
        code: spec.code,
        redirectURI: spec.redirectURI!,
        codeVerifier: spec.codeVerifier!,
        nonce: spec.nonce!,
      });
    } else {
      requireDeviceFlow(provider);
      const poll = await deps.clients.pollDevice(provider, spec.deviceCode!);
      if ('pending' in poll) {
        throw new StatusError(
          409,
          poll.pending,
          poll.pending === 'SlowDown'
            ? 'still waiting for approval at the identity provider; poll less often'
            : 'still waiting for approval at the identity provider',
        );
      }
      identity = poll.identity;
    }
  } catch (err) {
    throw loginFailure(deps, provider, err);
  }
  return establish(deps, provider, identity, spec.code !== undefined ? 'code' : 'device');
}

/** Starts the device flow at the provider: the code the person enters, and where. */
export async function startDeviceLogin(deps: IdentityDeps, name: string): Promise<DeviceAuthorizationStatus> {
  const provider = providerNamed(deps, name);
  requireDeviceFlow(provider);
  try {
    const response = await deps.clients.startDevice(provider);
    return {
      userCode: response.user_code,
      verificationURI: response.verification_uri,
      ...(response.verification_uri_complete ? { verificationURIComplete: response.verification_uri_complete } : {}),
      deviceCode: response.device_code,
      expirationTimestamp: new Date(deps.now().getTime() + response.expires_in * 1000).toISOString(),
      interval: response.interval ?? 5,
    };
  } catch (err) {
    throw loginFailure(deps, provider, err);
  }
}

/** Every Provider, with what a CLI needs to start a login there; unreachable ones say why. */
export async function loginProviders(deps: IdentityDeps): Promise<LoginProvider[]> {
  const providers = [...deps.hub.providers.list()].sort((a, b) => a.metadata.name!.localeCompare(b.metadata.name!));
  return Promise.all(
    providers.map(async (provider): Promise<LoginProvider> => {
      const base = {
        name: provider.metadata.name!,
        kind: provider.spec.kind,
        issuer: provider.spec.issuer,
        clientID: provider.spec.clientID,
        scopes: [],
        parameters: {},
        deviceAuthorization: false,
      };
      const ready = findCondition(provider.status?.conditions, 'Ready');
      if (ready?.status === 'False') return { ...base, ready: false, message: ready.message };
      try {
        return { ...base, ...(await deps.clients.authorization(provider)), ready: true };
      } catch (err) {
        return { ...base, ready: false, message: errorMessage(err) };
      }
    }),
  );
}

function providerNamed(deps: IdentityDeps, name: string): Provider {
  const provider = deps.hub.providers.get(name);
  if (!provider) throw new StatusError(404, 'NotFound', `there is no identity provider named "${name}"; \`infra login\` lists the ones there are`);
  return provider;
}

/**
 * The device flow only for a Provider that asks for it: its code can be approved by
 * someone other than the person who started it (phishing), and the start needs no login.
 */
function requireDeviceFlow(provider: Provider): void {
  const name = provider.metadata.name!;
  if (provider.spec.deviceFlow !== true) {
    throw new StatusError(
      403,
      'Forbidden',
      `the device flow is off for ${name}: log in with the browser instead (infra login --provider ${name}, with --no-browser on a machine without one), or ask an Infra admin to set spec.deviceFlow: true on Provider ${name}`,
    );
  }
}

/** The User (made at the first login) with the provider's groups, and a session bound to the upstream one. */
async function establish(deps: IdentityDeps, provider: Provider, identity: UpstreamIdentity, method: ProviderLoginMethod): Promise<ProviderLogin> {
  const name = provider.metadata.name!;
  const { user: existing, created } = await deps.users.ensure(identity.email);
  if (created) {
    deps.audit.info({ action: 'user.created', user: identity.email, provider: name, name: existing.metadata.name }, 'user created at first login');
    deps.events.record(existing, 'Normal', 'Created', `created at the first login through ${name}`);
  }
  const now = deps.now().toISOString();
  const groups = withProviderGroups(existing.status?.groups ?? [], name, identity.groups);
  const user = await deps.users.patchStatus(existing, { provider: name, groups, lastLoginAt: now, lastVerifiedAt: now });
  await deps.users.setVerified(user, { status: 'True', reason: 'LoggedIn', message: `${name} vouched for the user at login` }).catch((err: unknown) => {
    deps.logger.warn({ user: identity.email, err: errorMessage(err) }, 'could not record the Verified condition');
  });
  const { key, credential } = await deps.credentials.create('session', user, {
    upstream: { provider: name, seal: (secretName) => sealSession(deps, identity.session, secretName) },
    loginMethod: method,
  });
  return { user, key, credential };
}

/** A failed login as the Status the person reads: what the provider said, and what to do. */
function loginFailure(deps: IdentityDeps, provider: Provider, err: unknown): Error {
  if (err instanceof StatusError) return err;
  const name = provider.metadata.name!;
  if (!(err instanceof UpstreamError)) {
    deps.logger.error({ provider: name, err: errorMessage(err) }, 'login through an identity provider failed');
    return new StatusError(500, 'InternalError', `logging in through ${name} failed; the operator logged the details`);
  }
  deps.audit.info({ action: 'login', method: 'oidc', provider: name, result: 'denied', reason: err.message }, 'login denied');
  switch (err.problem) {
    case 'rejected':
      return new StatusError(401, 'Unauthorized', `login through ${name} failed: ${err.message}; run \`infra login\` again`);
    case 'unavailable':
      return new StatusError(
        503,
        'ServiceUnavailable',
        `cannot log in through ${name} right now: ${err.message}. Sessions you already have keep working; try again later`,
      );
    case 'misconfigured':
      return new StatusError(
        503,
        'ServiceUnavailable',
        `cannot log in through ${name}: ${err.message}. Ask an Infra admin to check the Provider (kubectl describe provider ${name})`,
      );
  }
}
