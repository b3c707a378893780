// Infra as an OAuth client of each identity provider (openid-client): discovery, the
// authorization code exchange (PKCE and nonce checked), the device flow, refreshing an
// upstream session, and the kind-specific group sources. The client secret is read from
// the Provider's Secret and never leaves this module.
import * as oidc from 'openid-client';
import type { LoginProvider } from '../../api/auth/v1alpha1/types.ts';
import type { Provider } from '../../api/v1alpha1/types.ts';
import { graphMemberOf, graphScope } from './azure-graph.ts';
import { emailFrom, groupsFromClaim, mergeClaims, providerGroups, type Claims } from './claims.ts';
import { UpstreamError, oauthError, upstreamError } from './errors.ts';
import { directoryGroups, parseServiceAccountKey } from './google-directory.ts';
import { readProviderSecret, type ReadStoredSecret } from '../secret-refs.ts';
import { cachedToken, type Fetch, type GroupSource } from './groups.ts';

type Kind = Provider['spec']['kind'];

const defaultScopes: Record<Kind, string[]> = {
  oidc: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  okta: ['openid', 'email', 'profile', 'groups', 'offline_access'],
  azure: ['openid', 'email', 'profile', 'offline_access'],
  // Google grants refresh tokens through access_type=offline, not a scope.
  google: ['openid', 'email', 'profile'],
};
const extraParameters: Partial<Record<Kind, Record<string, string>>> = {
  google: { access_type: 'offline', prompt: 'consent' },
};
/** Kinds whose groups (and often email) come in claims that code-flow ID tokens may leave to userinfo. */
const claimsKinds = new Set<Kind>(['oidc', 'okta']);
const deviceGrant = 'urn:ietf:params:oauth:grant-type:device_code';
const credentialsCheckCode = 'infra-credentials-check';
const requestTimeoutSeconds = 10;

/** What Infra keeps of an upstream session, sealed in the session's Secret. */
export interface UpstreamSession {
  refreshToken: string;
  /** The provider's sub for the person: a refreshed ID token must name the same one. */
  subject: string;
  /** Azure AD's oid, for Microsoft Graph. */
  objectId?: string;
}

/** Who the provider says the person is, now. */
export interface UpstreamIdentity {
  email: string;
  groups: string[];
  session: UpstreamSession;
}

export type DevicePoll = { pending: 'AuthorizationPending' | 'SlowDown' } | { identity: UpstreamIdentity };

export interface ProviderClientsOptions {
  readStoredSecret: ReadStoredSecret;
  /** The HTTP client for the group APIs (Graph, Directory): a seam for tests. */
  fetch?: Fetch;
  /** How long discovery and the client secret are reused before being read again. */
  cacheMs?: number;
  now?: () => number;
}

interface Client {
  generation: number | undefined;
  loadedAt: number;
  config: oidc.Configuration;
  groups: GroupSource | undefined;
}

export class ProviderClients {
  private readonly options: ProviderClientsOptions;
  private readonly clients = new Map<string, Promise<Client>>();

  constructor(options: ProviderClientsOptions) {
    this.options = options;
  }

  /** What a CLI needs to send a person to the provider (no secret). */
  async authorization(
    provider: Provider,
  ): Promise<Pick<LoginProvider, 'authorizationEndpoint' | 'clientID' | 'scopes' | 'parameters' | 'deviceAuthorization'>> {
    const { config } = await this.client(provider);
    const metadata = config.serverMetadata();
    if (!metadata.authorization_endpoint) throw new UpstreamError('misconfigured', `${provider.spec.issuer} publishes no authorization_endpoint`);
    return {
      authorizationEndpoint: metadata.authorization_endpoint,
      clientID: provider.spec.clientID,
      scopes: scopesOf(provider),
      parameters: extraParameters[provider.spec.kind] ?? {},
      deviceAuthorization: provider.spec.deviceFlow === true && metadata.device_authorization_endpoint !== undefined,
    };
  }

  /** Exchanges an authorization code (PKCE verifier and nonce checked) for the person's identity. */
  async exchangeCode(provider: Provider, request: { code: string; redirectURI: string; codeVerifier: string; nonce: string }): Promise<UpstreamIdentity> {
    const client = await this.client(provider);
    const callback = new URL(request.redirectURI);
    callback.search = '';
    callback.hash = '';
    callback.searchParams.set('code', request.code);
    // The CLI checked iss against the provider; openid-client wants it back when the provider sends it.
    if (client.config.serverMetadata().authorization_response_iss_parameter_supported) callback.searchParams.set('iss', client.config.serverMetadata().issuer);
    const tokens = await oidc
      .authorizationCodeGrant(client.config, callback, { pkceCodeVerifier: request.codeVerifier, expectedNonce: request.nonce, idTokenExpected: true })
      .catch((err: unknown) => {
        throw upstreamError(err, 'exchanging the authorization code');
      });
    return this.identity(provider, client, tokens);
  }

  async startDevice(provider: Provider): Promise<oidc.DeviceAuthorizationResponse> {
    const { config } = await this.client(provider);
    if (!config.serverMetadata().device_authorization_endpoint) {
      throw new UpstreamError('misconfigured', `provider ${provider.metadata.name} does not offer the device flow; log in with the browser instead`);
    }
    const parameters = { scope: scopesOf(provider).join(' '), ...extraParameters[provider.spec.kind] };
    return oidc.initiateDeviceAuthorization(config, parameters).catch((err: unknown) => {
      throw upstreamError(err, 'starting the device flow');
    });
  }

  /** One poll of the device flow: pending until the person has approved at the provider. */
  async pollDevice(provider: Provider, deviceCode: string): Promise<DevicePoll> {
    const client = await this.client(provider);
    try {
      const tokens = await oidc.genericGrantRequest(client.config, deviceGrant, { device_code: deviceCode });
      return { identity: await this.identity(provider, client, tokens) };
    } catch (err) {
      const error = oauthError(err)?.error;
      if (error === 'authorization_pending') return { pending: 'AuthorizationPending' };
      if (error === 'slow_down') return { pending: 'SlowDown' };
      throw upstreamError(err, 'completing the device flow');
    }
  }

  /** Asks the provider about the person again: a refresh, then userinfo and groups. */
  async refresh(provider: Provider, email: string, session: UpstreamSession): Promise<UpstreamIdentity> {
    const client = await this.client(provider);
    const tokens = await oidc.refreshTokenGrant(client.config, session.refreshToken).catch((err: unknown) => {
      throw upstreamError(err, 'refreshing the session');
    });
    return this.identity(provider, client, tokens, { email, session });
  }

  /**
   * Checks the client ID and secret at the token endpoint with a code that cannot be
   * valid: a provider answers invalid_client for wrong credentials and invalid_grant
   * (or similar) for right ones. Throws UpstreamError('misconfigured') for the former.
   */
  async checkCredentials(provider: Provider): Promise<void> {
    const { config } = await this.client(provider);
    try {
      await oidc.genericGrantRequest(config, 'authorization_code', { code: credentialsCheckCode, redirect_uri: 'http://127.0.0.1/callback' });
    } catch (err) {
      const failure = upstreamError(err, 'checking the client credentials');
      if (failure.problem !== 'rejected') throw failure;
    }
  }

  /** Forgets a provider's client, e.g. when it was deleted. */
  forget(name: string): void {
    this.clients.delete(name);
  }

  private async client(provider: Provider): Promise<Client> {
    const name = provider.metadata.name!;
    const now = (this.options.now ?? Date.now)();
    const cached = this.clients.get(name);
    if (cached) {
      const client = await cached.catch(() => undefined);
      if (client && client.generation === provider.metadata.generation && now - client.loadedAt < (this.options.cacheMs ?? 60_000)) return client;
      if (this.clients.get(name) !== cached) return this.client(provider); // someone else is reloading
    }
    const loading = this.load(provider, now);
    this.clients.set(name, loading);
    loading.catch(() => this.clients.get(name) === loading && this.clients.delete(name));
    return loading;
  }

  private async load(provider: Provider, now: number): Promise<Client> {
    const { spec } = provider;
    const secret = await this.readOwnSecret(provider, spec.clientSecretRef);
    let discovered: oidc.Configuration;
    try {
      discovered = await oidc.discovery(new URL(spec.issuer), spec.clientID, undefined, undefined, { timeout: requestTimeoutSeconds });
    } catch (err) {
      throw upstreamError(err, `fetching ${spec.issuer}/.well-known/openid-configuration`);
    }
    const metadata = discovered.serverMetadata();
    const methods = metadata.token_endpoint_auth_methods_supported ?? ['client_secret_basic'];
    const auth =
      methods.includes('client_secret_basic') || !methods.includes('client_secret_post') ? oidc.ClientSecretBasic(secret) : oidc.ClientSecretPost(secret);
    const config = new oidc.Configuration(metadata, spec.clientID, undefined, auth);
    config.timeout = requestTimeoutSeconds;
    return { generation: provider.metadata.generation, loadedAt: now, config, groups: await this.groupSource(provider, config) };
  }

  /** A Secret's value the Provider may send to its issuer: one bound to this Provider and issuer, never the operator's own. */
  private async readOwnSecret(provider: Provider, ref: { name: string; key: string }): Promise<string> {
    const secret = await readProviderSecret(provider, ref, this.options.readStoredSecret);
    if ('reason' in secret) throw new UpstreamError('misconfigured', secret.message);
    return secret.value;
  }

  private async groupSource(provider: Provider, config: oidc.Configuration): Promise<GroupSource | undefined> {
    const { spec } = provider;
    if (spec.kind === 'azure') {
      const token = cachedToken(async () => {
        const response = await oidc.clientCredentialsGrant(config, { scope: graphScope }).catch((err: unknown) => {
          throw upstreamError(err, 'getting a Microsoft Graph token');
        });
        return { accessToken: response.access_token, expiresInSeconds: response.expires_in ?? 3600 };
      });
      return graphMemberOf(token, this.options.fetch);
    }
    if (spec.kind === 'google' && spec.google) {
      const ref = spec.google.serviceAccountSecretRef;
      const json = await this.readOwnSecret(provider, ref);
      return directoryGroups(parseServiceAccountKey(json), spec.google.adminEmail, this.options.fetch);
    }
    return undefined;
  }

  /** The person in a token response: ID token claims (plus userinfo), email, groups from claims and the group source. */
  private async identity(
    provider: Provider,
    client: Client,
    tokens: oidc.TokenEndpointResponse & oidc.TokenEndpointResponseHelpers,
    known?: { email: string; session: UpstreamSession },
  ): Promise<UpstreamIdentity> {
    const { spec } = provider;
    const idToken: Claims = tokens.claims() ?? (known ? { sub: known.session.subject } : {});
    const subject = idToken['sub'];
    if (typeof subject !== 'string') throw new UpstreamError('rejected', 'the identity provider sent no ID token; request the openid scope');
    if (known && subject !== known.session.subject) throw new UpstreamError('rejected', 'the identity provider now names another subject for this session');
    let userinfo: Claims | undefined;
    if (claimsKinds.has(spec.kind) && client.config.serverMetadata().userinfo_endpoint) {
      userinfo = await oidc.fetchUserInfo(client.config, tokens.access_token, subject).catch((err: unknown) => {
        throw upstreamError(err, 'reading userinfo');
      });
    }
    const claims = mergeClaims(idToken, userinfo);
    const email = known && claims['email'] === undefined && claims['preferred_username'] === undefined ? known.email : emailFrom(spec, claims);
    if (known && email.toLowerCase() !== known.email.toLowerCase())
      throw new UpstreamError('rejected', `the identity provider now reports ${email} for ${known.email}; log in again`);
    const objectId = typeof claims['oid'] === 'string' ? claims['oid'] : known?.session.objectId;
    const fromSource = client.groups ? await client.groups.groupsOf({ email, ...(objectId ? { objectId } : {}) }) : [];
    const refreshToken = tokens.refresh_token ?? known?.session.refreshToken;
    if (!refreshToken) {
      throw new UpstreamError(
        'misconfigured',
        `the identity provider issued no refresh token, so Infra could not re-verify ${email} later; ${spec.kind === 'google' ? 'allow offline access for the OAuth client' : 'add offline_access to spec.scopes and allow refresh tokens for the application'}`,
      );
    }
    return {
      email,
      groups: providerGroups(provider.metadata.name!, [...groupsFromClaim(claims, spec.groupsClaim), ...fromSource]),
      session: { refreshToken, subject, ...(objectId ? { objectId } : {}) },
    };
  }
}

export function scopesOf(provider: Provider): string[] {
  return provider.spec.scopes ?? defaultScopes[provider.spec.kind];
}
