import type { NotificationEventJobData } from '../../queues/queues';
import { EVENT_LABELS, isNotificationEvent } from './notification-types';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function line(event: NotificationEventJobData): string {
  const label = isNotificationEvent(event.type) ? EVENT_LABELS[event.type] : event.type;
  const details = ['recipient', 'category', 'file', 'name', 'message', 'body']
    .map((k) => event.data[k])
    .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')
    .map((v) => (typeof v === 'string' && v.length > 200 ? `${v.slice(0, 200)}…` : v))
    .join(', ');
  return `${new Date(event.createdAt).toISOString().replace('T', ' ').slice(0, 16)} UTC — ${label}${details ? ` (${details})` : ''}`;
}

/** One email for a share's digest: plain text and HTML with the same lines, every value escaped in HTML. */
export function digestMessage(
  events: NotificationEventJobData[],
  publicUrl: string,
): { subject: string; text: string; html: string } {
  const title = events.map((e) => e.data.title).find((t): t is string => typeof t === 'string') ?? 'your shares';
  const shareId = events.map((e) => e.data.shareId).find((t): t is string => typeof t === 'string');
  const link = shareId ? `${publicUrl}/shares/${shareId}` : `${publicUrl}/settings`;
  const subject = `${events.length === 1 ? 'New activity' : `${events.length} new events`} on “${title}”`;
  const lines = events.map(line);
  // A request for more time carries its one-click extend link (signed by the share module, valid 7 days).
  const actions = events.map((e) =>
    typeof e.data.extendUrl === 'string' && e.data.extendUrl.startsWith(`${publicUrl}/`) ? e.data.extendUrl : null,
  );
  const text = [
    `Activity on “${title}”:`,
    '',
    ...lines.map((l, i) => `- ${l}${actions[i] ? `\n  Extend the link by 7 days: ${actions[i]}` : ''}`),
    '',
    `See it: ${link}`,
    '',
    `Choose which emails you get in Settings: ${publicUrl}/settings#notifications`,
  ].join('\n');
  const html =
    `<p>Activity on “${escapeHtml(title)}”:</p><ul>${lines
      .map(
        (l, i) =>
          `<li>${escapeHtml(l)}${actions[i] ? ` <a href="${escapeHtml(actions[i])}">Extend the link by 7 days</a>` : ''}</li>`,
      )
      .join('')}</ul>` +
    `<p><a href="${escapeHtml(link)}">See it</a></p><p style="color:#666">Choose which emails you get in <a href="${escapeHtml(publicUrl)}/settings#notifications">Settings</a>.</p>`;
  return { subject, text, html };
}
