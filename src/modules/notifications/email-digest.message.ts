import type { NotificationEventJobData } from '../../queues/queues';
import { EVENT_LABELS, isNotificationEvent } from './notification-types';

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function line(event: NotificationEventJobData): string {
  const label = isNotificationEvent(event.type) ? EVENT_LABELS[event.type] : event.type;
  const details = ['recipient', 'category', 'file', 'name', 'message']
    .map((k) => event.data[k])
    .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number')
    .join(', ');
  return `${new Date(event.createdAt).toISOString().replace('T', ' ').slice(0, 16)} UTC — ${label}${details ? ` (${details})` : ''}`;
}

/** One email for a share's digest: plain text and HTML with the same lines, every value escaped in HTML. */
export function digestMessage(events: NotificationEventJobData[], publicUrl: string): { subject: string; text: string; html: string } {
  const title = events.map((e) => e.data.title).find((t): t is string => typeof t === 'string') ?? 'your shares';
  const shareId = events.map((e) => e.data.shareId).find((t): t is string => typeof t === 'string');
  const link = shareId ? `${publicUrl}/shares/${shareId}` : `${publicUrl}/settings`;
  const subject = `${events.length === 1 ? 'New activity' : `${events.length} new events`} on “${title}”`;
  const lines = events.map(line);
  const text = [`Activity on “${title}”:`, '', ...lines.map((l) => `- ${l}`), '', `See it: ${link}`, '', `Choose which emails you get in Settings: ${publicUrl}/settings#notifications`].join('\n');
  const html = `<p>Activity on “${escapeHtml(title)}”:</p><ul>${lines.map((l) => `<li>${escapeHtml(l)}</li>`).join('')}</ul>`
    + `<p><a href="${escapeHtml(link)}">See it</a></p><p style="color:#666">Choose which emails you get in <a href="${escapeHtml(publicUrl)}/settings#notifications">Settings</a>.</p>`;
  return { subject, text, html };
}
