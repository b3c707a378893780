// The Login request: three ways in, chosen by what the spec carries. A code or device code
// logs in through an identity provider (provider.ts), an access key logs in as its user
// (access-key.ts), an email and password are checked against the user's password Secret
// (password.ts). Whichever it was, the answer is a new session, with an audit line and an
// Event on the User; every refusal is the same 401.
import type { LoginSpec, LoginStatus } from '../../api/auth/v1alpha1/types.ts';
import type { User } from '../../api/v1alpha1/types.ts';
import { resolveIdentity } from '../access.ts';
import { credentialIDKey } from '../../lib/audit.ts';
import type { Credential } from '../credentials/store.ts';
import { credentialID, type AuditNote } from '../http/audit.ts';
import { authenticationFailed } from '../http/status.ts';
import { checkAccessKey } from './access-key.ts';
import type { LoginDeps } from './deps.ts';
import { checkPassword } from './password.ts';
import { loginWithProvider } from './provider.ts';

const loginMethodAnnotation = 'infrahq.com/login-method';
const methodNames = { password: 'a password', 'access-key': 'an access key', oidc: 'identity provider' } as const;

export async function login(deps: LoginDeps, spec: LoginSpec, address: string | undefined, note: AuditNote): Promise<LoginStatus> {
  let user: User | undefined;
  let method: keyof typeof methodNames;
  let session: { key: string; credential: Credential } | undefined;
  let accessKeyId: string | undefined;
  if (spec.code !== undefined || spec.deviceCode !== undefined) {
    method = 'oidc';
    const result = await loginWithProvider(deps.identity, spec);
    user = result.user;
    session = result;
  } else if (spec.accessKey !== undefined) {
    method = 'access-key';
    ({ user, accessKeyId } = await checkAccessKey(deps, spec.accessKey));
  } else {
    method = 'password';
    user = await checkPassword(deps, spec.email!, spec.password!, address);
  }
  note.annotations = { [loginMethodAnnotation]: method };
  if (!user) {
    deps.audit.info({ action: 'login', method, email: spec.email, result: 'denied' }, 'login denied');
    throw authenticationFailed();
  }
  // A session made with an access key ends when the key is revoked.
  const { key, credential } = session ?? (await deps.credentials.create('session', user, accessKeyId ? { accessKeyId } : {}));
  const identity = resolveIdentity(deps.hub, user.spec.email);
  const withKey = accessKeyId ? { extra: { [credentialIDKey]: [credentialID({ kind: 'access-key', id: accessKeyId })] } } : {};
  note.user = { username: identity.email, groups: identity.groups, ...withKey };
  note.issuedCredentialID = credentialID(credential);
  const through = method === 'oidc' ? `${methodNames.oidc} ${spec.provider}` : methodNames[method];
  deps.audit.info(
    {
      action: 'login',
      method,
      ...(method === 'oidc' ? { provider: spec.provider } : {}),
      user: identity.email,
      groups: identity.groups,
      session: credential.id,
      result: 'allowed',
    },
    'login',
  );
  deps.events.record(user, 'Normal', 'LoggedIn', `logged in with ${through}`);
  return {
    sessionKey: key,
    expirationTimestamp: credential.expiresAt.toISOString(),
    user: identity,
    ...(user.status?.passwordChangeRequired ? { passwordChangeRequired: true } : {}),
  };
}
