// What a receiver reads: Slack's message says who asks for what, where, for how long and
// why, and who decided; the generic shape is the transition, versioned.
import { describe, expect, it } from 'vitest';
import { genericPayload, genericPayloadVersion, slackEscape, slackPayload } from './payloads.ts';
import { accessRequest, transition } from '../../../test/access-requests.ts';

interface SlackMessage {
  text: string;
  blocks: { type: string; text?: { type: string; text: string }; elements?: { text: string }[] }[];
}
const slack = (t: Parameters<typeof slackPayload>[0]) => slackPayload(t) as SlackMessage;
const blockText = (message: SlackMessage) => message.blocks.map((b) => b.text?.text ?? b.elements!.map((e) => e.text).join(' ')).join('\n');

const bobApproves = { user: 'bob@example.com', time: '2026-12-03T13:29:00Z', decision: 'Approve' as const, comment: 'go ahead' };

describe('slackPayload', () => {
  it('says for a new request who asks which role on what, for how long and why', () => {
    const message = slack(transition('new'));
    expect(message.text).toBe('alice@example.com requests `edit` on `production.web` for `2h`');
    const text = blockText(message);
    expect(text).toContain(':key: *alice@example.com* requests `edit` on `production.web` for `2h`');
    expect(text).toContain('*Reason:* INC-4312: roll back the web deploy');
    expect(text).toContain('AccessRequest `alice-edit-production-web-x7k2p` · policy `production-oncall` · state Pending');
    expect(message.blocks.map((b) => b.type)).toEqual(['section', 'section', 'context']);
  });

  it('names the reviewer, their comment and the end of an approval', () => {
    const request = accessRequest({ state: 'Approved', reviews: [bobApproves], grant: 'g', expiresAt: '2026-12-03T15:29:00Z' });
    const text = blockText(slack(transition('approved', request)));
    expect(text).toContain("*bob@example.com* approved *alice@example.com*'s request for `edit` on `production.web` for `2h`");
    expect(text).toContain('*Comment from bob@example.com:* go ahead');
    expect(text).toContain('*Until:* 2026-12-03T15:29:00Z');
  });

  it('tells denial, revocation, cancellation and the two kinds of expiry apart', () => {
    const carol = { user: 'carol@example.com', time: '2026-12-03T13:29:00Z', decision: 'Deny' as const, comment: 'not during the freeze' };
    expect(slack(transition('denied', accessRequest({ state: 'Denied', reviews: [carol] }))).text).toBe(
      "carol@example.com denied alice@example.com's request for `edit` on `production.web` for `2h`",
    );
    expect(slack(transition('revoked', accessRequest({ state: 'Revoked', reviews: [bobApproves, carol], grant: 'g' }))).text).toBe(
      "carol@example.com revoked alice@example.com's access: `edit` on `production.web` for `2h`",
    );
    expect(slack(transition('cancelled', accessRequest({ state: 'Cancelled' }))).text).toContain('alice@example.com cancelled their request');
    expect(slack(transition('expired', accessRequest({ state: 'Expired', grant: 'g' }))).text).toContain("alice@example.com's access ended at its expiry");
    expect(slack(transition('expired', accessRequest({ state: 'Expired' }))).text).toContain("alice@example.com's request lapsed before anyone decided");
  });

  it("escapes the requester's text, so a reason cannot mention @channel or disguise a link", () => {
    const request = accessRequest({}, { reason: '<!channel> see <https://evil.example|the runbook> & approve', role: 'edit`<!here>' });
    const text = blockText(slack(transition('new', request)));
    expect(text).not.toContain('<!channel>');
    expect(text).not.toContain('<!here>');
    expect(text).not.toContain('<https://evil');
    expect(text).toContain('&lt;!channel&gt; see &lt;https://evil.example|the runbook&gt; &amp; approve');
    expect(slackEscape('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
  });
});

describe('genericPayload', () => {
  it('is the transition as JSON with a version', () => {
    const request = accessRequest({ state: 'Approved', reviews: [bobApproves], grant: 'alice-edit-g', expiresAt: '2026-12-03T15:29:00Z' });
    expect(JSON.parse(JSON.stringify(genericPayload(transition('approved', request))))).toEqual({
      version: genericPayloadVersion,
      type: 'approved',
      at: '2026-12-03T13:30:00.000Z',
      request: { name: 'alice-edit-production-web-x7k2p', spec: request.spec, status: request.status },
    });
  });
});
