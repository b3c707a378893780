// auth.infrahq.com/v1alpha1: create-only request objects served by the operator (in
// the style of TokenReview), through the hub's aggregation layer and on the operator's
// public HTTPS endpoint. The zod schemas are the one definition of each request's spec;
// the CLI and tests import the same types.
import { z } from 'zod';
import { parseDuration } from '../../../lib/duration.ts';

export const group = 'auth.infrahq.com';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const email = z.string().max(320).regex(/^[^@\s]+@[^@\s]+\.[^@\s]+$/, 'must be an email address like carl@example.com');

export const loginSpec = z
  .object({
    provider: z.string().max(253).optional().describe('Provider to log in with (OIDC); "infra" or absent for a password or access key'),
    email: email.optional(),
    password: z.string().min(1).max(1024).optional(),
    accessKey: z.string().min(1).max(256).optional(),
    code: z.string().min(1).max(4096).optional(),
    redirectURI: z.url().optional(),
    codeVerifier: z.string().min(43).max(128).optional(),
  })
  .strict()
  .superRefine((spec, ctx) => {
    const methods = [spec.password !== undefined, spec.accessKey !== undefined, spec.code !== undefined].filter(Boolean).length;
    if (methods !== 1) {
      ctx.addIssue({ code: 'custom', message: 'set exactly one of password (with email), accessKey, or code (with provider, redirectURI and codeVerifier)' });
      return;
    }
    if (spec.password !== undefined && spec.email === undefined) ctx.addIssue({ code: 'custom', path: ['email'], message: 'is required with password' });
    if (spec.code !== undefined) {
      for (const field of ['provider', 'redirectURI', 'codeVerifier'] as const) {
        if (spec[field] === undefined) ctx.addIssue({ code: 'custom', path: [field], message: 'is required with code' });
      }
    }
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

export const kinds = {
  Login: { plural: 'logins', singular: 'login', spec: loginSpec },
  TokenRequest: { plural: 'tokenrequests', singular: 'tokenrequest', spec: tokenRequestSpec },
  AccessReview: { plural: 'accessreviews', singular: 'accessreview', spec: accessReviewSpec },
  Logout: { plural: 'logouts', singular: 'logout', spec: logoutSpec },
  AccessKey: { plural: 'accesskeys', singular: 'accesskey', spec: accessKeySpec },
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
