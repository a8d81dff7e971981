import { raw } from '@mikro-orm/postgresql';
import type { ShareCounts } from '../share-stats.service';

/** The update that adds pending counts to a link's stored counters (a share's or a recipient's: same columns). */
export function counterUpdate(c: ShareCounts) {
  const last = c.lastAccessedAt;
  return {
    views: raw(`views + ${c.views}`),
    plays: raw(`plays + ${c.plays}`),
    listenedSeconds: raw(`listened_seconds + ${c.listenedSeconds}`),
    downloadsBounce: raw(`downloads_bounce + ${c.downloads.bounce}`),
    downloadsProject: raw(`downloads_project + ${c.downloads.project}`),
    downloadsStem: raw(`downloads_stem + ${c.downloads.stem}`),
    ...(last
      ? {
          lastAccessedAt: raw(
            `greatest(coalesce(last_accessed_at, to_timestamp(0)), to_timestamp(${last.getTime() / 1000}))`,
          ),
        }
      : {}),
  };
}
