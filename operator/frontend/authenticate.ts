// Who is calling, for each door. The aggregated door trusts X-Remote-* identity headers
// only from a client certificate that verifies against the hub's front-proxy CA and
// carries an allowed CN; the public door ignores those headers and takes a bearer
// session or access key (credentials/store.ts).
import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { resolveIdentity } from '../access.ts';
import type { CredentialStore } from '../credentials/store.ts';
import type { Authenticator, ClientAddress } from '../http/caller.ts';
import type { Hub } from '../hub.ts';

export interface FrontProxyTrust {
  /** PEM CA bundle that signs the hub's front-proxy client certificate. */
  ca: string;
  /** CNs allowed to assert identities; empty means any certificate from the CA. */
  allowedNames: string[];
}

/** Reads the request-header trust the hub publishes for extension API servers. */
export async function readFrontProxyTrust(kubeConfig: KubeConfig): Promise<FrontProxyTrust> {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const config = await core.readNamespacedConfigMap({ name: 'extension-apiserver-authentication', namespace: 'kube-system' });
  const ca = config.data?.['requestheader-client-ca-file'];
  if (!ca)
    throw new Error(
      'kube-system/extension-apiserver-authentication has no requestheader-client-ca-file: the hub kube-apiserver runs without the aggregation layer (--requestheader-client-ca-file)',
    );
  const allowedNames = JSON.parse(config.data?.['requestheader-allowed-names'] ?? '[]') as string[];
  return { ca, allowedNames };
}

export function aggregatedAuthenticator(
  hub: Hub,
  getTrust: () => FrontProxyTrust,
): { fromFrontProxy: (req: IncomingMessage) => boolean; authenticate: Authenticator; frontProxyUser: ClientAddress } {
  const fromFrontProxy = (req: IncomingMessage) => {
    const socket = req.socket as TLSSocket;
    const cn = socket.authorized ? socket.getPeerCertificate().subject?.CN : undefined;
    const { allowedNames } = getTrust();
    return cn !== undefined && (allowedNames.length === 0 || allowedNames.includes(String(cn)));
  };
  const authenticate: Authenticator = async (req) => {
    const user = req.headersDistinct['x-remote-user']?.[0];
    if (!user) return undefined;
    return { identity: resolveIdentity(hub, user, req.headersDistinct['x-remote-group'] ?? [], { exactEmail: true }) };
  };
  const frontProxyUser: ClientAddress = (req) => `hub user ${req.headersDistinct['x-remote-user']?.[0] ?? '(none)'}`;
  return { fromFrontProxy, authenticate, frontProxyUser };
}

/** `onUnknownKey` hears of every bearer key the door does not know (the rate limit counts them). */
export function publicAuthenticator(hub: Hub, credentials: CredentialStore, onUnknownKey: (req: IncomingMessage) => void): Authenticator {
  return async (req) => {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    const credential = await credentials.authenticate(match[1]!);
    if (!credential) {
      onUnknownKey(req);
      return undefined;
    }
    return { identity: resolveIdentity(hub, credential.email), credential };
  };
}
