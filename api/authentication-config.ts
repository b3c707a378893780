// What a spoke kube-apiserver needs to verify Infra tokens itself (a Destination with
// trust Direct): an AuthenticationConfiguration (apiserver.config.k8s.io/v1, the file of
// --authentication-config) with one JWT authenticator that follows the same rules as the
// connector's proxy (api/tokens.ts verifyToken): this issuer, this destination as the
// only audience, the subject as the user and the groups claim as the groups, a lifetime
// within the maximum; and none of Kubernetes' own system: names (ADR 17).
import { maxTokenLifetimeMs } from './token-lifetime.ts';

export interface AuthenticationConfigInput {
  /** The operator's public URL: the tokens' iss, where the API server finds discovery and the JWKS. */
  issuer: string;
  /** PEM CA that verifies the issuer's serving certificate; absent when it is publicly trusted. */
  issuerCA?: string;
  destination: string;
}

interface ValidationRule {
  expression: string;
  message: string;
}

export interface AuthenticationConfiguration {
  apiVersion: 'apiserver.config.k8s.io/v1';
  kind: 'AuthenticationConfiguration';
  jwt: {
    issuer: { url: string; certificateAuthority?: string; audiences: string[] };
    claimValidationRules: ValidationRule[];
    claimMappings: { username: { claim: 'sub'; prefix: '' }; groups: { claim: 'groups'; prefix: '' } };
    userValidationRules: ValidationRule[];
  }[];
}

const maxLifetimeSeconds = maxTokenLifetimeMs / 1000;

export function authenticationConfiguration({ issuer, issuerCA, destination }: AuthenticationConfigInput): AuthenticationConfiguration {
  return {
    apiVersion: 'apiserver.config.k8s.io/v1',
    kind: 'AuthenticationConfiguration',
    jwt: [
      {
        issuer: { url: issuer, ...(issuerCA ? { certificateAuthority: issuerCA } : {}), audiences: [destination] },
        claimValidationRules: [
          {
            expression: "has(claims.sub) && type(claims.sub) == string && claims.sub != ''",
            message: 'an Infra token must name its user in sub',
          },
          {
            // claims.groups is typed any: dyn() lets the comprehension range over it.
            expression: 'has(claims.groups) && type(claims.groups) == list && dyn(claims.groups).all(g, type(g) == string)',
            message: 'an Infra token must carry its groups as a list of strings',
          },
          {
            // JSON numbers may arrive as doubles: compare as doubles.
            expression: `has(claims.iat) && double(claims.exp) - double(claims.iat) <= ${maxLifetimeSeconds}.0`,
            message: `an Infra token lives ${maxLifetimeSeconds / 60} minutes at most`,
          },
        ],
        // No prefix: the connector binds Grants to the bare email and groups, as the proxy
        // impersonates them, so one set of bindings serves both trust modes.
        claimMappings: { username: { claim: 'sub', prefix: '' }, groups: { claim: 'groups', prefix: '' } },
        userValidationRules: [
          {
            expression: "!user.username.startsWith('system:')",
            message: 'an Infra token may not name a system: user, which is reserved for Kubernetes itself',
          },
          {
            expression: "user.groups.all(g, !g.startsWith('system:'))",
            message: 'an Infra token may not carry a system: group, which is reserved for Kubernetes itself',
          },
        ],
      },
    ],
  };
}
