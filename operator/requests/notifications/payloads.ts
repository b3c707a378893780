// The JSON a webhook receives for a transition: Slack's incoming-webhook message (text
// for notifications, blocks for the channel), or the transition itself, versioned, for
// anything else to parse.
import type { AccessRequestReview, Transition } from './transition.ts';

export const payloadFormats = ['slack', 'generic'] as const;
export type PayloadFormat = (typeof payloadFormats)[number];

/** The generic shape's version: bumped on any change a receiver could notice. */
export const genericPayloadVersion = 'notifications.infrahq.com/v1';

export function payload(format: PayloadFormat, transition: Transition): unknown {
  return format === 'slack' ? slackPayload(transition) : genericPayload(transition);
}

export function genericPayload({ type, request, at }: Transition): unknown {
  return {
    version: genericPayloadVersion,
    type,
    at: at.toISOString(),
    request: { name: request.metadata.name, spec: request.spec, status: request.status ?? {} },
  };
}

/**
 * Text from the request (a reason, a comment, even a name) is the requester's: Slack would
 * turn `<!channel>` into a mention and `<https://x|y>` into a disguised link, so the three
 * characters mrkdwn gives meaning to are escaped as Slack documents.
 */
export function slackEscape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

const code = (text: string) => `\`${slackEscape(text).replace(/`/g, "'")}\``;

/** The review that made this transition: the latest one with a decision. */
function decidingReview(transition: Transition): AccessRequestReview | undefined {
  return transition.request.status?.reviews?.at(-1);
}

function headline(transition: Transition): string {
  const { spec, status = {} } = transition.request;
  const requester = slackEscape(status.requester ?? 'someone');
  const access = `${code(spec.role)} on ${code(spec.resource)} for ${code(spec.duration)}`;
  const reviewer = slackEscape(decidingReview(transition)?.user ?? 'an approver');
  switch (transition.type) {
    case 'new':
      return `:key: *${requester}* requests ${access}`;
    case 'approved':
      return `:white_check_mark: *${reviewer}* approved *${requester}*'s request for ${access}`;
    case 'denied':
      return `:no_entry_sign: *${reviewer}* denied *${requester}*'s request for ${access}`;
    case 'revoked':
      return `:no_entry: *${reviewer}* revoked *${requester}*'s access: ${access}`;
    case 'cancelled':
      return `:leftwards_arrow_with_hook: *${requester}* cancelled their request for ${access}`;
    case 'expired':
      return status.grant
        ? `:hourglass: *${requester}*'s access ended at its expiry: ${access}`
        : `:hourglass: *${requester}*'s request lapsed before anyone decided: ${access}`;
  }
}

function details(transition: Transition): string[] {
  const { spec, status = {} } = transition.request;
  const review = decidingReview(transition);
  const decided = transition.type === 'approved' || transition.type === 'denied' || transition.type === 'revoked';
  return [
    `*Reason:* ${spec.reason ? slackEscape(spec.reason) : '_none given_'}`,
    ...(decided && review?.comment ? [`*Comment from ${slackEscape(review.user)}:* ${slackEscape(review.comment)}`] : []),
    ...(transition.type === 'approved' && status.expiresAt ? [`*Until:* ${slackEscape(status.expiresAt)}`] : []),
  ];
}

/** A plain-text line for the notification itself (Slack shows `text` where blocks cannot be shown). */
function plainText(transition: Transition): string {
  return headline(transition)
    .replace(/^:[a-z_]+: /, '')
    .replace(/\*/g, '');
}

export function slackPayload(transition: Transition): unknown {
  const { request } = transition;
  const context = [
    `AccessRequest ${code(request.metadata.name ?? '')}`,
    ...(request.status?.policy ? [`policy ${code(request.status.policy)}`] : []),
    ...(request.status?.state ? [`state ${request.status.state}`] : []),
    `<!date^${Math.floor(transition.at.getTime() / 1000)}^{date_short_pretty} {time}|${transition.at.toISOString()}>`,
  ].join(' · ');
  return {
    text: plainText(transition),
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: headline(transition) } },
      { type: 'section', text: { type: 'mrkdwn', text: details(transition).join('\n') } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: context }] },
    ],
  };
}
