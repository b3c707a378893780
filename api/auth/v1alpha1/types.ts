// auth.infrahq.com/v1alpha1: create-only request objects served by the operator (in
// the style of TokenReview), through the hub's aggregation layer and on the operator's
// public HTTPS endpoint. The zod schemas are the one definition of each request's spec
// and each answer's status: the operator validates with them, the CLI and tests import
// their types, and openapi.ts builds the published OpenAPI from them.
import { z } from 'zod';
import { parseDuration } from '../../duration.ts';
import { dnsLabel } from '../../grants.ts';

export const group = 'auth.infrahq.com';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

const email = z
  .string()
  .max(320)
  .regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an email address like carl@example.com');

// Statuses are answers, never parsed: their schemas are the types the programs share and
// the fields the published OpenAPI documents, so every field says what it is.
const expirationTimestamp = z.string().describe('When it expires (RFC 3339).');
const userInfo = z
  .object({
    email: z.string().describe("The user's email address: their username in every cluster."),
    groups: z.array(z.string()).describe('The groups the user is a member of (from Infra Groups and their identity provider).'),
  })
  .describe('Who the caller is.');

export const loginSpec = z
  .object({
    provider: z.string().max(253).optional().describe('Provider to log in with (OIDC); "infra" or absent for a password or access key'),
    email: email.optional().describe("The user's email address, with password."),
    password: z.string().min(1).max(1024).optional().describe("The user's password (with email); never echoed in the answer."),
    accessKey: z.string().min(1).max(256).optional().describe('An access key (infra keys add); never echoed in the answer.'),
    code: z.string().min(1).max(4096).optional().describe("the authorization code from the provider's redirect"),
    redirectURI: z.url().optional().describe('the redirect URI the code was sent to, exactly as in the authorization request'),
    codeVerifier: z.string().min(43).max(128).optional().describe('the PKCE code verifier whose S256 challenge was in the authorization request'),
    nonce: z.string().min(16).max(256).optional().describe('the nonce of the authorization request; the ID token must carry it'),
    deviceCode: z.string().min(1).max(4096).optional().describe('the device_code of a DeviceAuthorization (device flow)'),
  })
  .strict()
  .describe(
    'How to log in: exactly one of password (with email), accessKey, code (with provider, redirectURI, codeVerifier and nonce), or deviceCode (with provider).',
  )
  .superRefine((spec, ctx) => {
    const methods = [spec.password !== undefined, spec.accessKey !== undefined, spec.code !== undefined, spec.deviceCode !== undefined].filter(Boolean).length;
    if (methods !== 1) {
      ctx.addIssue({
        code: 'custom',
        message:
          'set exactly one of password (with email), accessKey, code (with provider, redirectURI, codeVerifier and nonce), or deviceCode (with provider)',
      });
      return;
    }
    if (spec.password !== undefined && spec.email === undefined) ctx.addIssue({ code: 'custom', path: ['email'], message: 'is required with password' });
    if (spec.code !== undefined) {
      for (const field of ['provider', 'redirectURI', 'codeVerifier', 'nonce'] as const) {
        if (spec[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'is required with code' });
      }
    }
    if (spec.deviceCode !== undefined && spec.provider === undefined)
      ctx.addIssue({ code: 'custom', path: ['provider'], message: 'is required with deviceCode' });
  });
export type LoginSpec = z.infer<typeof loginSpec>;

export const loginStatus = z
  .object({
    sessionKey: z.string().describe("Bearer key for the operator's public endpoint; revocable, expires."),
    expirationTimestamp: expirationTimestamp,
    user: userInfo,
    passwordChangeRequired: z.boolean().optional().describe('The password was a one-time password: the user must set a new one (PasswordChange).'),
  })
  .describe('The session the login started.');
export type LoginStatus = z.infer<typeof loginStatus>;

export const tokenRequestSpec = z
  .object({
    destination: z
      .string()
      .regex(dnsLabel, 'must be the name of a Destination (a DNS label), e.g. production')
      .describe('The Destination (a cluster) the token is for, e.g. production; the caller needs a Grant on it.'),
  })
  .strict()
  .describe('Which destination to get a token for.');
export type TokenRequestSpec = z.infer<typeof tokenRequestSpec>;

export const tokenRequestStatus = z
  .object({
    token: z.string().describe("A JWT for the destination's connector (aud = the destination), short-lived: send it as a bearer token."),
    expirationTimestamp: expirationTimestamp,
  })
  .describe('The token.');
export type TokenRequestStatus = z.infer<typeof tokenRequestStatus>;

export const accessReviewSpec = z.object({}).strict().describe('Empty: an AccessReview is always about the caller.');

const reachableDestination = z.object({
  name: z.string().describe('The Destination.'),
  url: z
    .string()
    .optional()
    .describe("Where kubectl reaches it, once its connector has registered: the connector's proxy URL, or with trust Direct its API server's URL."),
  caBundle: z.string().optional().describe('The PEM CA bundle, base64-encoded, that verifies the server at url.'),
  trust: z
    .enum(['Proxy', 'Direct'])
    .optional()
    .describe("Who verifies its tokens: the connector's proxy (Proxy, when absent) or its API server itself (Direct)."),
  connected: z.boolean().describe('Whether its connector has reported in recently.'),
  clusterRoles: z.array(z.string()).describe('The roles the caller holds on the whole cluster.'),
  namespaces: z
    .array(
      z.object({
        name: z.string().describe('The namespace.'),
        roles: z.array(z.string()).describe('The roles the caller holds in it.'),
      }),
    )
    .describe('The namespaces the caller holds roles in, with those roles.'),
});

export const accessReviewStatus = z
  .object({
    user: userInfo,
    infraRole: z.enum(['admin', 'view']).optional().describe('The caller\'s role on Infra itself (Grants on resource "infra"), if any.'),
    destinations: z.array(reachableDestination).describe('Every destination the caller holds a Grant on.'),
  })
  .describe('What the caller may reach.');
export type AccessReviewStatus = z.infer<typeof accessReviewStatus>;

export const logoutSpec = z
  .object({
    all: z.boolean().optional().describe('revoke every session of the caller, not just this one'),
  })
  .strict()
  .describe("Which sessions to end: the calling one, or all of the caller's.");

export const logoutStatus = z
  .object({
    revoked: z.number().int().describe('How many sessions were ended.'),
  })
  .describe('What the logout ended.');
export type LogoutStatus = z.infer<typeof logoutStatus>;

export const accessKeySpec = z
  .object({
    user: email.optional().describe('whose key; the caller when absent (an Infra admin may name anyone)'),
    name: z.string().regex(dnsLabel, 'must be a short lowercase name (a DNS label), e.g. ci-deploy').describe('what the key is for'),
    ttl: z
      .string()
      .refine((text) => parseDuration(text) !== undefined, 'must be a duration like 12h, 30d or 365d')
      .optional()
      .describe('how long the key lives; 30d when absent'),
  })
  .strict()
  .describe('The access key to make.');
export type AccessKeySpec = z.infer<typeof accessKeySpec>;

export const accessKeyStatus = z
  .object({
    accessKey: z.string().describe('The key, shown once: only its hash is stored.'),
    expirationTimestamp: expirationTimestamp,
    user: z.string().describe('The email of the User the key logs in as.'),
  })
  .describe('The new key.');
export type AccessKeyStatus = z.infer<typeof accessKeyStatus>;

export const passwordResetSpec = z
  .object({
    user: email.describe('the email of the User who gets a one-time password'),
  })
  .strict()
  .describe('Whose password to reset.');
export type PasswordResetSpec = z.infer<typeof passwordResetSpec>;

export const passwordResetStatus = z
  .object({
    user: z.string().describe('The email of the User whose password was reset.'),
    oneTimePassword: z.string().describe('Shown once: the user must replace it at their next login.'),
  })
  .describe('The one-time password.');
export type PasswordResetStatus = z.infer<typeof passwordResetStatus>;

export const minPasswordLength = 12;

export const passwordChangeSpec = z
  .object({
    currentPassword: z.string().min(1).max(1024).describe("The caller's current (or one-time) password."),
    newPassword: z
      .string()
      .min(minPasswordLength, `must be at least ${minPasswordLength} characters: a few unrelated words make a good one`)
      .max(1024)
      .describe(`The new password: at least ${minPasswordLength} characters, different from the current one.`),
  })
  .strict()
  .describe("The caller's current and new password; neither is echoed in the answer.")
  .refine((spec) => spec.newPassword !== spec.currentPassword, { path: ['newPassword'], message: 'must differ from the current password' });
export type PasswordChangeSpec = z.infer<typeof passwordChangeSpec>;

export const passwordChangeStatus = z
  .object({
    user: z.string().describe('The email of the User whose password changed.'),
  })
  .describe('Whose password changed.');
export type PasswordChangeStatus = z.infer<typeof passwordChangeStatus>;

export const deviceAuthorizationSpec = z
  .object({
    provider: z.string().min(1).max(253).describe('the Provider to log in with'),
  })
  .strict()
  .describe('Which identity provider to start a device-flow login with.');
export type DeviceAuthorizationSpec = z.infer<typeof deviceAuthorizationSpec>;

export const deviceAuthorizationStatus = z
  .object({
    userCode: z.string().describe('What the person types at verificationURI.'),
    verificationURI: z.string().describe('Where the person approves the login, at the identity provider.'),
    verificationURIComplete: z.string().optional().describe('verificationURI with the code filled in, when the provider offers it.'),
    deviceCode: z.string().describe("The CLI's handle: sent back in Login.spec.deviceCode until the person has approved."),
    expirationTimestamp: expirationTimestamp,
    interval: z.number().int().describe('Seconds to wait between Logins.'),
  })
  .describe('What the person does to approve, and how the CLI waits for it.');
export type DeviceAuthorizationStatus = z.infer<typeof deviceAuthorizationStatus>;

/** Reasons of the Status a Login with a deviceCode gets until the person has approved (HTTP 409). */
export const devicePending = { AuthorizationPending: 'AuthorizationPending', SlowDown: 'SlowDown' } as const;

/**
 * GET /apis/auth.infrahq.com/v1alpha1/providers on the public endpoint (no bearer): what
 * the CLI needs to start a login with each identity provider. Not a kind in discovery.
 */
export const loginProvidersPath = `/apis/${group}/${version}/providers`;

export interface LoginProvider {
  name: string;
  kind: 'oidc' | 'okta' | 'google' | 'azure';
  issuer: string;
  /** Whether people can log in with it now (the Provider's Ready condition). */
  ready: boolean;
  /** Why not, when not ready. */
  message?: string;
  authorizationEndpoint?: string;
  clientID: string;
  scopes: string[];
  /** Extra authorization request parameters the provider needs, e.g. Google's access_type=offline. */
  parameters: Record<string, string>;
  /** The provider offers the device flow (DeviceAuthorization). */
  deviceAuthorization: boolean;
}

export interface LoginProviderList {
  apiVersion: typeof apiVersion;
  kind: 'LoginProviderList';
  items: LoginProvider[];
}

/** Every kind: its names, what it is (OpenAPI, kubectl explain), and the schemas of its spec (validated) and status (answered). */
export const kinds = {
  Login: {
    plural: 'logins',
    singular: 'login',
    description: 'Logs a person in with a password, an access key or an identity provider, and answers a session key for the public endpoint.',
    spec: loginSpec,
    status: loginStatus,
  },
  TokenRequest: {
    plural: 'tokenrequests',
    singular: 'tokenrequest',
    description:
      "Asks for a short-lived token for a destination (a cluster) the caller holds a Grant on; its connector's proxy accepts it. Nothing is stored: the answer carries the token.",
    spec: tokenRequestSpec,
    status: tokenRequestStatus,
  },
  AccessReview: {
    plural: 'accessreviews',
    singular: 'accessreview',
    description: 'Asks who the caller is and which destinations, namespaces and roles their Grants give them. Nothing is stored.',
    spec: accessReviewSpec,
    status: accessReviewStatus,
  },
  Logout: {
    plural: 'logouts',
    singular: 'logout',
    description: "Ends the caller's session, or all of their sessions.",
    spec: logoutSpec,
    status: logoutStatus,
  },
  AccessKey: {
    plural: 'accesskeys',
    singular: 'accesskey',
    description: 'Makes an access key: a long-lived credential a machine logs in with (Login spec.accessKey).',
    spec: accessKeySpec,
    status: accessKeyStatus,
  },
  PasswordReset: {
    plural: 'passwordresets',
    singular: 'passwordreset',
    description: 'Gives a User a one-time password (Infra admins only); they set their own at their next login.',
    spec: passwordResetSpec,
    status: passwordResetStatus,
  },
  PasswordChange: {
    plural: 'passwordchanges',
    singular: 'passwordchange',
    description: "Changes the caller's password.",
    spec: passwordChangeSpec,
    status: passwordChangeStatus,
  },
  DeviceAuthorization: {
    plural: 'deviceauthorizations',
    singular: 'deviceauthorization',
    description: 'Starts a device-flow login with an identity provider, for a terminal without a browser; Logins with the deviceCode finish it.',
    spec: deviceAuthorizationSpec,
    status: deviceAuthorizationStatus,
  },
} as const;
export type Kind = keyof typeof kinds;

export interface AuthObject<K extends Kind, S, T> {
  apiVersion: typeof apiVersion;
  kind: K;
  metadata: { name?: string; creationTimestamp?: string };
  spec: S;
  status?: T;
}

export type Login = AuthObject<'Login', LoginSpec, LoginStatus>;
export type TokenRequest = AuthObject<'TokenRequest', TokenRequestSpec, TokenRequestStatus>;
export type AccessReview = AuthObject<'AccessReview', Record<string, never>, AccessReviewStatus>;
export type Logout = AuthObject<'Logout', z.infer<typeof logoutSpec>, LogoutStatus>;
export type AccessKey = AuthObject<'AccessKey', AccessKeySpec, AccessKeyStatus>;
export type PasswordReset = AuthObject<'PasswordReset', PasswordResetSpec, PasswordResetStatus>;
export type PasswordChange = AuthObject<'PasswordChange', PasswordChangeSpec, PasswordChangeStatus>;
export type DeviceAuthorization = AuthObject<'DeviceAuthorization', DeviceAuthorizationSpec, DeviceAuthorizationStatus>;
