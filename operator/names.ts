// Object names the management API gives what people create by email, group or
// resource: readable like the samples (`<subject>-<role>-<resource>`), always a valid
// DNS subdomain, and the same for the same input.
import { createHash, randomBytes } from 'node:crypto';
import type { GrantSpec } from '../api/v1alpha1/types.ts';

const maxNameLength = 253;

/** Lower-cases and turns every run of other characters into one dash: `Carl@Example.com` → `carl-example-com`. */
function slug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/**
 * A name for `readable`, unless slugging lost something (case, punctuation) that two
 * different inputs could share; then a hash of the exact input keeps them apart.
 */
function nameFor(readable: string, exact: string): string {
  const base =
    slug(readable)
      .slice(0, maxNameLength - 9)
      .replace(/-+$/, '') || 'x';
  return base === readable ? base : `${base}-${shortHash(exact)}`;
}

export function grantName(spec: Pick<GrantSpec, 'user' | 'group' | 'role' | 'resource'>): string {
  const subject = spec.user ?? spec.group ?? '';
  const readable = `${subject}-${spec.role}-${spec.resource}`;
  return nameFor(readable, `${spec.user !== undefined ? 'user' : 'group'}:${subject}/${spec.role}/${spec.resource}`);
}

export function userName(email: string): string {
  return nameFor(email.toLowerCase(), email.toLowerCase());
}

/**
 * A new AccessRequest's name: who, what and where, readable in `kubectl get accessrequests`,
 * with a random suffix, since the same person may ask for the same access again.
 */
export function accessRequestName(email: string, role: string, resource: string): string {
  const readable = slug(`${email.split('@')[0]}-${role}-${resource}`).slice(0, 63) || 'request';
  return `${readable.replace(/-+$/, '')}-${randomBytes(3).toString('hex')}`;
}
