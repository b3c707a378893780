// How a connector gets its hub identity (docs/adr/0021-connector-bootstrap.md): an Infra
// admin runs `infra destinations add NAME`, the operator answers with a short-lived,
// single-use bootstrap credential, and the connector exchanges it once at the operator
// for a bound, expiring token of its own ServiceAccount in the hub, which it then renews
// itself. The operator, the connector and the CLI agree on the shapes here.

/** `infra-bootstrap.<destination>.<secret>`: the destination is readable, so a mix-up names itself. */
const bootstrapPrefix = 'infra-bootstrap';
const bootstrapPattern = /^infra-bootstrap\.([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\.([A-Za-z0-9_-]{43})$/;

/**
 * Where a spoke keeps the bootstrap credential until the connector has exchanged it: a
 * Secret, never the connector's ConfigMap, handed to the connector as INFRA_BOOTSTRAP_TOKEN
 * (config/connector/deployment.yaml).
 */
export const bootstrapSecret = { name: 'infra-connector-bootstrap', key: 'token' } as const;

export function formatBootstrapToken(destination: string, secret: string): string {
  return `${bootstrapPrefix}.${destination}.${secret}`;
}

export function parseBootstrapToken(token: string): { destination: string; secret: string } | undefined {
  const match = bootstrapPattern.exec(token.trim());
  return match ? { destination: match[1]!, secret: match[3]! } : undefined;
}

/** The admin's request: `POST /apis/infrahq.com/v1alpha1/destinations/<name>/bootstrap`. */
export const bootstrapPath = (destination: string) => `/apis/infrahq.com/v1alpha1/destinations/${encodeURIComponent(destination)}/bootstrap`;
/** The connector's exchange: `POST .../destinations/<name>/credential` with the bootstrap credential as bearer. */
export const credentialPath = (destination: string) => `/apis/infrahq.com/v1alpha1/destinations/${encodeURIComponent(destination)}/credential`;

export interface BootstrapRequest {
  /** How long the bootstrap credential may be exchanged, e.g. "1h"; the operator's default when absent. */
  expiresIn?: string;
}

export interface Bootstrap {
  kind: 'DestinationBootstrap';
  destination: string;
  bootstrapToken: string;
  expiresAt: string;
}

export interface CredentialRequest {
  /** The lifetime the connector asks for its hub token (Kubernetes allows 10 minutes or more). */
  expirationSeconds: number;
}

/** The connector's own hub identity: where the hub is and a bound token of its ServiceAccount. */
export interface ConnectorCredential {
  kind: 'ConnectorCredential';
  server: string;
  /** Base64 PEM CA of the hub's API server; absent when it is publicly trusted. */
  certificateAuthorityData?: string;
  namespace: string;
  serviceAccount: string;
  token: string;
  expiresAt: string;
}

/** The connector's ServiceAccount in the hub; the isolation policy (config/admission) reads the destination from it. */
export const connectorServiceAccount = (destination: string) => `connector-${destination}`;
/** Kubernetes refuses bound tokens shorter than this. */
export const minCredentialSeconds = 600;
