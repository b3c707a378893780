// Object names the management API gives what people create by email, group or
// resource: readable like the samples (`<subject>-<role>-<resource>`), always a valid
// DNS subdomain, and the same for the same input.
import { createHash } from 'node:crypto';
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
