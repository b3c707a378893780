// Encryption at rest for what Infra keeps of an upstream IdP session (the refresh
// token): AES-256-GCM with a key in the hub Secret <namespace>/infra-session-encryption-key,
// made by whichever replica needs it first. Each sealed value is bound to the Secret it
// is stored in (additional authenticated data), so it cannot be moved to another session.
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { statusCode } from '../../lib/kube.ts';

export const sealingKeySecret = 'infra-session-encryption-key';
const keyField = 'key';
const ivLength = 12;
const tagLength = 16;

export interface Sealer {
  seal(plaintext: string, boundTo: string): Promise<Buffer>;
  open(sealed: Buffer, boundTo: string): Promise<string>;
}

/** AES-256-GCM with a fixed key: iv (12 bytes) | tag (16 bytes) | ciphertext. */
export function aesGcmSealer(key: Buffer): Sealer {
  if (key.length !== 32) throw new Error(`the session encryption key must be 32 bytes, got ${key.length}`);
  return {
    async seal(plaintext, boundTo) {
      const iv = randomBytes(ivLength);
      const cipher = createCipheriv('aes-256-gcm', key, iv).setAAD(Buffer.from(boundTo));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return Buffer.concat([iv, cipher.getAuthTag(), ciphertext]);
    },
    async open(sealed, boundTo) {
      if (sealed.length < ivLength + tagLength) throw new Error('sealed value is too short');
      const decipher = createDecipheriv('aes-256-gcm', key, sealed.subarray(0, ivLength)).setAAD(Buffer.from(boundTo));
      decipher.setAuthTag(sealed.subarray(ivLength, ivLength + tagLength));
      return Buffer.concat([decipher.update(sealed.subarray(ivLength + tagLength)), decipher.final()]).toString('utf8');
    },
  };
}

/** A sealer whose key lives in a hub Secret, read (or created) on first use. */
export function secretSealer(kubeConfig: KubeConfig, namespace: string): Sealer {
  const core = kubeConfig.makeApiClient(CoreV1Api);
  let loading: Promise<Sealer> | undefined;
  const load = async (): Promise<Sealer> => {
    const read = async () => {
      try {
        const secret = await core.readNamespacedSecret({ name: sealingKeySecret, namespace });
        const value = secret.data?.[keyField];
        if (!value) throw new Error(`Secret ${namespace}/${sealingKeySecret} has no data key ${keyField}`);
        return Buffer.from(value, 'base64');
      } catch (err) {
        if (statusCode(err) === 404) return undefined;
        throw err;
      }
    };
    let key = await read();
    if (!key) {
      try {
        await core.createNamespacedSecret({
          namespace,
          body: {
            metadata: { name: sealingKeySecret, namespace, labels: { 'app.kubernetes.io/managed-by': 'infra-operator' } },
            type: 'Opaque',
            data: { [keyField]: randomBytes(32).toString('base64') },
          },
        });
      } catch (err) {
        if (statusCode(err) !== 409) throw err; // another replica made it first: use theirs
      }
      key = await read();
      if (!key) throw new Error(`Secret ${namespace}/${sealingKeySecret} vanished right after it was created`);
    }
    return aesGcmSealer(key);
  };
  const sealer = () =>
    (loading ??= load().catch((err: unknown) => {
      loading = undefined;
      throw err;
    }));
  return {
    seal: async (plaintext, boundTo) => (await sealer()).seal(plaintext, boundTo),
    open: async (sealed, boundTo) => (await sealer()).open(sealed, boundTo),
  };
}
