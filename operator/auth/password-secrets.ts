// Where the operator keeps a built-in user's password hash when it sets one (a one-time
// password, or the user's own new one): the Secret infra-password-<User name> in its
// namespace, one per user, so changing one person's password never touches a Secret that
// an admin made and may share.
import { createHash } from 'node:crypto';
import { CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { User } from '../../api/v1alpha1/types.ts';
import { hashPassword } from './passwords.ts';

const hashKey = 'hash';
const applyPatch = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);

export function passwordSecretName(userName: string): string {
  const name = `infra-password-${userName}`;
  return name.length <= 253 ? name : `infra-password-${createHash('sha256').update(userName).digest('hex').slice(0, 32)}`;
}

export class PasswordSecrets {
  private readonly core: CoreV1Api;
  private readonly namespace: string;

  constructor(kubeConfig: KubeConfig, namespace: string) {
    this.core = kubeConfig.makeApiClient(CoreV1Api);
    this.namespace = namespace;
  }

  /** Hashes the password into the user's own Secret; returns the reference for spec.passwordSecretRef. */
  async write(user: User, password: string): Promise<{ name: string; key: string }> {
    const name = passwordSecretName(user.metadata.name!);
    const body = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: this.namespace, labels: { 'app.kubernetes.io/managed-by': 'infra-operator' }, annotations: { 'infrahq.com/password-of': user.metadata.name! } },
      type: 'Opaque',
      data: { [hashKey]: Buffer.from(await hashPassword(password)).toString('base64') },
    };
    await this.core.patchNamespacedSecret({ name, namespace: this.namespace, body, fieldManager: 'infra-operator', force: true }, applyPatch);
    return { name, key: hashKey };
  }
}
