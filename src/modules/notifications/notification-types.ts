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

export function isNotificationEvent(value: unknown): value is NotificationEventType {
  return typeof value === 'string' && (NOTIFICATION_EVENTS as readonly string[]).includes(value);
}

/** How each event reads in an email and in Settings. */
export const EVENT_LABELS: Record<NotificationEventType, string> = {
  'share.opened': 'A link is opened for the first time',
  'share.listened': 'A first listen',
  'share.downloaded': 'A download',
  'comment.created': 'A new comment',
  'share.expiring': 'A link expires in 3 days',
  'access.requested': 'Someone asks for more time on an expired link',
};
