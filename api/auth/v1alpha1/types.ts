// auth.infrahq.com/v1alpha1: create-only request objects served by the operator (in
// the style of TokenReview), through the hub's aggregation layer and on the operator's
// public HTTPS endpoint. The zod schemas are the one definition of each request's spec;
// the CLI and tests import the same types.
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

export const loginSpec = z
  .object({
    provider: z.string().max(253).optional().describe('Provider to log in with (OIDC); "infra" or absent for a password or access key'),
    email: email.optional(),
    password: z.string().min(1).max(1024).optional(),
    accessKey: z.string().min(1).max(256).optional(),
    code: z.string().min(1).max(4096).optional().describe("the authorization code from the provider's redirect"),
    redirectURI: z.url().optional().describe('the redirect URI the code was sent to, exactly as in the authorization request'),
    codeVerifier: z.string().min(43).max(128).optional().describe('the PKCE code verifier whose S256 challenge was in the authorization request'),
    nonce: z.string().min(16).max(256).optional().describe('the nonce of the authorization request; the ID token must carry it'),
    deviceCode: z.string().min(1).max(4096).optional().describe('the device_code of a DeviceAuthorization (device flow)'),
  })
  .strict()
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

export interface LoginStatus {
  /** Bearer key for the operator's public endpoint; revocable, expires. */
  sessionKey: string;
  expirationTimestamp: string;
  user: { email: string; groups: string[] };
  /** The password is a one-time password: the user must set a new one. */
  passwordChangeRequired?: boolean;
}

export const tokenRequestSpec = z
  .object({
    destination: z.string().regex(dnsLabel, 'must be the name of a Destination (a DNS label), e.g. production'),
  })
  .strict();
export type TokenRequestSpec = z.infer<typeof tokenRequestSpec>;

export interface TokenRequestStatus {
  /** JWT for the destination's connector: aud = destination, short-lived. */
  token: string;
  expirationTimestamp: string;
}

export const accessReviewSpec = z.object({}).strict();

export interface AccessReviewStatus {
  user: { email: string; groups: string[] };
  /** The caller's role on Infra itself (Grants on resource "infra"), if any. */
  infraRole?: 'admin' | 'view';
  destinations: {
    name: string;
    url?: string;
    caBundle?: string;
    connected: boolean;
    clusterRoles: string[];
    namespaces: { name: string; roles: string[] }[];
  }[];
}

export const logoutSpec = z
  .object({
    all: z.boolean().optional().describe('revoke every session of the caller, not just this one'),
  })
  .strict();

export interface LogoutStatus {
  revoked: number;
}

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
  .strict();
export type AccessKeySpec = z.infer<typeof accessKeySpec>;

export interface AccessKeyStatus {
  /** Shown once: only its hash is stored. */
  accessKey: string;
  expirationTimestamp: string;
  user: string;
}

export const passwordResetSpec = z
  .object({
    user: email.describe('the email of the User who gets a one-time password'),
  })
  .strict();
export type PasswordResetSpec = z.infer<typeof passwordResetSpec>;

export interface PasswordResetStatus {
  user: string;
  /** Shown once: the user must replace it at their next login. */
  oneTimePassword: string;
}

export const minPasswordLength = 12;

export const passwordChangeSpec = z
  .object({
    currentPassword: z.string().min(1).max(1024),
    newPassword: z.string().min(minPasswordLength, `must be at least ${minPasswordLength} characters: a few unrelated words make a good one`).max(1024),
  })
  .strict()
  .refine((spec) => spec.newPassword !== spec.currentPassword, { path: ['newPassword'], message: 'must differ from the current password' });
export type PasswordChangeSpec = z.infer<typeof passwordChangeSpec>;

export interface PasswordChangeStatus {
  user: string;
}

export const deviceAuthorizationSpec = z
  .object({
    provider: z.string().min(1).max(253).describe('the Provider to log in with'),
  })
  .strict();
export type DeviceAuthorizationSpec = z.infer<typeof deviceAuthorizationSpec>;

export interface DeviceAuthorizationStatus {
  /** What the person types at verificationURI. */
  userCode: string;
  verificationURI: string;
  /** verificationURI with the code filled in, when the provider offers it. */
  verificationURIComplete?: string;
  /** The CLI's handle: sent back in Login.spec.deviceCode until the person has approved. */
  deviceCode: string;
  expirationTimestamp: string;
  /** Seconds to wait between Logins. */
  interval: number;
}

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

export const kinds = {
  Login: { plural: 'logins', singular: 'login', spec: loginSpec },
  TokenRequest: { plural: 'tokenrequests', singular: 'tokenrequest', spec: tokenRequestSpec },
  AccessReview: { plural: 'accessreviews', singular: 'accessreview', spec: accessReviewSpec },
  Logout: { plural: 'logouts', singular: 'logout', spec: logoutSpec },
  AccessKey: { plural: 'accesskeys', singular: 'accesskey', spec: accessKeySpec },
  PasswordReset: { plural: 'passwordresets', singular: 'passwordreset', spec: passwordResetSpec },
  PasswordChange: { plural: 'passwordchanges', singular: 'passwordchange', spec: passwordChangeSpec },
  DeviceAuthorization: { plural: 'deviceauthorizations', singular: 'deviceauthorization', spec: deviceAuthorizationSpec },
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
