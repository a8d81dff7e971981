/** The owner's share pages as view models: labels, expiry sentences, per-category counts, listening bars. */
import { Confirmation } from '../../common/http/confirm';
import { formatDuration } from '../../common/views/handlebars';
import { CATEGORY_LABELS, FILE_CATEGORIES } from '../files/file-categories';
import type { ListenTotals } from './share-listens.service';
import type { RecipientView } from './share-recipients.service';
import type { ShareView } from './shares.service';
import { LINK_STATUS_LABELS } from './share-rules';

export function expiryText(share: ShareView): string {
  if (!share.expiresAt) return 'Never';
  const day = share.expiresAt.slice(0, 10);
  return share.status === 'expired' ? `Expired on ${day}` : `${day} (${share.expiryLabel} from when it was set)`;
}

export function revokeConfirmation(share: ShareView): Confirmation {
  return {
    heading: 'Disable this link?',
    message: `Anyone opening “${share.title}” — through its link or a recipient’s — will see that it has been disabled. This cannot be undone: to share again, create a new link.`,
    caveat: "Downloads already handed out may still finish: Dropbox's download links stay valid for up to 4 hours.",
    action: `/shares/${share.id}/revoke`,
    confirmLabel: 'Disable link',
    cancelUrl: `/shares/${share.id}`,
    nav: 'shares',
  };
}

/** Template conveniences: labels for permissions and per-category download counts. */
export function decorate(share: ShareView) {
  return {
    ...share,
    statusLabel: LINK_STATUS_LABELS[share.status],
    disabled: share.status === 'revoked',
    expiryText: expiryText(share),
    newLinkUrl: `/shares/new?tracks=${share.tracks.map((t) => t.id).join(',')}`,
    tracks: share.tracks.map((t) => ({
      ...t,
      followLabel: t.follow.map((c) => `all ${CATEGORY_LABELS[c].toLowerCase()}`).join(', '),
    })),
    permissions: FILE_CATEGORIES.map((c) => ({
      label: CATEGORY_LABELS[c],
      enabled: share.downloads[c],
      downloads: share.stats.downloads[c],
    })),
    trackTitles: share.tracks.map((t) => t.title).join(', '),
  };
}

export function recipientRow(r: RecipientView) {
  return {
    ...r,
    statusLabel: LINK_STATUS_LABELS[r.status],
    disabled: r.status === 'revoked',
    listenedText: formatDuration(r.stats.listenedSeconds),
    downloadsTotal: r.stats.downloads.bounce + r.stats.downloads.project + r.stats.downloads.stem,
  };
}

/** Listening figures as the page shows them; drop-off as one bar per tenth (its height: share of the sessions). */
export function listenRow(t: ListenTotals) {
  const most = Math.max(1, ...t.stops);
  return {
    sessions: t.sessions,
    plays: t.plays,
    listenedText: formatDuration(t.listenedSeconds),
    averagePercent: Math.round(t.averageShare * 100),
    stops: t.stops.map((count, i) => {
      const barHeight = Math.round((count / most) * 30);
      return { count, from: i * 10, to: (i + 1) * 10, barY: 30 - barHeight, barHeight };
    }),
  };
}
