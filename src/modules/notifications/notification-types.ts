/** Every event a producer can be told about, by webhook or email. The names are a public contract. */
export const NOTIFICATION_EVENTS = [
  'share.opened',
  'share.listened',
  'share.downloaded',
  'comment.created',
  'share.expiring',
  'access.requested',
] as const;
export type NotificationEventType = (typeof NOTIFICATION_EVENTS)[number];

/** Told by email only (no webhook event: not part of the webhooks' contract). */
export const EMAIL_ONLY_EVENTS = ['share.expired-visited'] as const;
export type EmailOnlyEventType = (typeof EMAIL_ONLY_EVENTS)[number];

/** Everything that can be published; each can be switched off for email in Settings. */
export type PublishedEventType = NotificationEventType | EmailOnlyEventType;
export const EMAIL_EVENTS: readonly PublishedEventType[] = [...NOTIFICATION_EVENTS, ...EMAIL_ONLY_EVENTS];

export function isNotificationEvent(value: unknown): value is PublishedEventType {
  return typeof value === 'string' && (EMAIL_EVENTS as readonly string[]).includes(value);
}

/** How each event reads in an email and in Settings. */
export const EVENT_LABELS: Record<PublishedEventType, string> = {
  'share.opened': 'A link is opened for the first time',
  'share.listened': 'A first listen',
  'share.downloaded': 'A download',
  'comment.created': 'A new comment',
  'share.expiring': 'A link expires in 3 days',
  'access.requested': 'Someone asks for more time on an expired link',
  'share.expired-visited': 'Someone opens a link that has expired',
};
