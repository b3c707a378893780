import { describe, expect, it } from 'vitest';
import type { KubernetesObject } from '@kubernetes/client-node';
import { redactPersonalData, withoutPersonalData } from './events.ts';

describe('Events in default carry no emails or client addresses', () => {
  it('redacts emails and IPv4 and IPv6 addresses, and leaves timestamps, names and groups', () => {
    expect(redactPersonalData('carl.smith+infra@example.co.uk logged in from 10.1.2.3')).toBe('[email] logged in from [address]');
    expect(redactPersonalData('locked: too many attempts from [2001:db8::7] and ::1.')).toBe('locked: too many attempts from [[address]] and [address].');
    const harmless = 'access as edit on prod.web expired at 2030-06-01T12:00:00.000Z; okta:admins added; key ci-1.2 v1.36.3';
    expect(redactPersonalData(harmless)).toBe(harmless);
  });

  it('redacts every message on its way to the recorder', () => {
    const recorded: string[] = [];
    const events = withoutPersonalData({ record: (_o: KubernetesObject, _t: string, _r: string, message: string) => void recorded.push(message) });
    events.record({ metadata: { name: 'u1' } }, 'Warning', 'LoginLocked', 'from 192.0.2.10 for dana@example.com');
    expect(recorded).toEqual(['from [address] for [email]']);
  });
});
