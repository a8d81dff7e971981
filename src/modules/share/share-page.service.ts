import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { RedisService } from '../../common/redis/redis.module';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import type { User } from '../accounts/entities/user.entity';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { CATEGORY_LABELS, FILE_CATEGORIES, FileCategory, formatLabel, isPlayable } from '../files/file-categories';
import type { TrackFile } from '../files/entities/track-file.entity';
import { isPreviewable, PreviewsService } from '../media/previews.service';
import { waveformPath } from '../media/waveform';
import type { Share } from './entities/share.entity';
import { ShareFileRepository } from './repositories/share-file.repository';
import { ShareRepository } from './repositories/share.repository';
import { ShareAccess, ShareAccessService } from './share-access.service';
import { ShareTuning } from './share-tuning';

const LOCAL_PAGES = 200;
const LOCAL_PAGE_BYTES = 32 * 1024 * 1024;

export interface RenderedPage {
  id: string;
  bytes: Buffer;
}

export interface PageFile {
  id: string;
  name: string;
  format: string;
  size: number;
  durationSeconds: number | null;
  unavailable: boolean;
  isMaster: boolean;
  playUrl: string | null;
  downloadUrl: string | null;
  /** Audio that gets its own small player (everything audio but the track's main player). */
  ownPlayer: boolean;
  /** Download disabled and not playable: listed only. */
  listedOnly: boolean;
  /** Listen-only audio whose preview is still being built. */
  preparing: boolean;
  /** Listen-only audio of which no preview can be made: why. */
  noPreview: string | null;
}

export interface PageTrack {
  id: string;
  number: number;
  title: string;
  artist: string | null;
  bpm: number | null;
  key: string | null;
  durationSeconds: number | null;
  artworkUrl: string | null;
  /** For the lock screen (Media Session). */
  artworkLargeUrl: string | null;
  player: { url: string; name: string; fileId: string; preparing: boolean } | null;
  /** The main file's waveform as an SVG path (see media/waveform.ts), when its preview is built. */
  waveform: string | null;
  groups: Array<{ category: FileCategory; label: string; files: PageFile[] }>;
}

export interface PageModel {
  title: string;
  /** On a recipient's own link: their name ("Shared with Label A"). */
  recipientName: string | null;
  studio: string;
  message: string | null;
  tracks: PageTrack[];
  downloadsPaused: boolean;
  downloadAllUrl: string | null;
  /** "projects and stems": the categories recipients can only listen to or see. */
  listeningOnly: string | null;
  og: { title: string; description: string; url: string; image: string | null };
  /** The comment form (comments on): its files, and a slot the page route fills with the visitor's CSRF token. */
  comments: PageComments | null;
}

/** Where the cached page's comment form carries the CSRF token; each view writes the visitor's own there. */
export const COMMENT_CSRF_SLOT = '__pd-comment-csrf-slot__';

export interface PageComments {
  action: string;
  pageUrl: string;
  listUrl: string;
  csrfSlot: string;
  /** The share's own link asks for a name; a per-recipient link knows it. */
  askName: boolean;
  files: Array<{ id: string; label: string; duration: number | null }>;
}

/** The cached page with the visitor's CSRF token in its comment form (the page itself is the same for everyone). */
export function withCommentToken(bytes: Buffer, token: string): Buffer {
  const at = bytes.indexOf(COMMENT_CSRF_SLOT);
  if (at < 0) return bytes;
  return Buffer.concat([
    bytes.subarray(0, at),
    Buffer.from(token, 'utf8'),
    bytes.subarray(at + COMMENT_CSRF_SLOT.length),
  ]);
}

function compareFiles(a: TrackFile, b: TrackFile): number {
  if (a.isMaster !== b.isMaster) return a.isMaster ? -1 : 1;
  return a.name.localeCompare(b.name, 'en', { numeric: true, sensitivity: 'base' });
}

/** The main player's file: the master bounce, else another bounce, else the first audio file of the share. */
function playerFile(files: TrackFile[], canPlay: (f: TrackFile) => boolean): TrackFile | undefined {
  const playable = files.filter((f) => f.status !== 'missing' && isPlayable(f) && canPlay(f));
  return (
    playable.find((f) => f.category === 'bounce' && f.isMaster) ??
    playable.find((f) => f.category === 'bounce') ??
    FILE_CATEGORIES.map((c) => playable.find((f) => f.category === c)).find(Boolean)
  );
}

/**
 * The recipient's playlist page. Built from PostgreSQL alone (four queries: share with owner and tracks, its
 * files, their previews, the owner's Dropbox status; no Dropbox call) and kept rendered in Redis, so most views cost one Redis read.
 */
@Injectable()
export class SharePageService {
  private readonly logger = new Logger(SharePageService.name);
  private readonly local = new Map<string, Buffer>();
  private localBytes = 0;
  private readonly rendering = new Map<string, Promise<RenderedPage>>();

  constructor(
    private readonly shares: ShareRepository,
    private readonly shareFiles: ShareFileRepository,
    private readonly redis: RedisService,
    private readonly tuning: ShareTuning,
    private readonly access: ShareAccessService,
    private readonly dropbox: DropboxConnectionsService,
    private readonly previews: PreviewsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async model(access: ShareAccess, loaded: Share | null): Promise<PageModel> {
    const share =
      loaded ??
      (await this.shares.findOneOrFail(
        { id: access.id },
        { populate: ['owner', 'tracks', 'tracks.track'], strategy: 'joined' },
      ));
    const items = await this.shareFiles.find({ share: access.id }, { populate: ['file'], strategy: 'joined' });
    const connection = await this.dropbox.status(access.ownerId);
    // An unverified Dropbox email pauses links just as an expired connection does (Dropbox hands out none).
    const paused = !(connection.connected && connection.status === 'active') || Boolean(connection.emailUnverified);
    const files = items.map((i) => i.file);
    const previews = await this.previews.forFiles(files);
    // Shares made before previews existed, or files whose preview went away: ask once the page is read.
    const unasked = files.filter((f) => f.status !== 'missing' && isPreviewable(f) && !previews.has(f.id));
    if (unasked.length)
      this.previews
        .request(unasked)
        .catch((err: Error) => this.logger.warn({ error: err.message }, 'could not ask for previews'));
    /** Audio that only plays from its preview, when no preview can be made of it. */
    const noPreview = (f: TrackFile) => {
      const preview = previews.get(f.id);
      return !access.downloads[f.category] && preview?.status === 'failed'
        ? (preview.reason ?? 'no preview could be made')
        : null;
    };
    const preparing = (f: TrackFile) => !access.downloads[f.category] && previews.get(f.id)?.status !== 'ready';

    const base = `/s/${access.token}`;
    const absolute = `${this.config.http.publicUrl}${base}`;
    const byTrack = new Map<string, TrackFile[]>();
    for (const { file } of items) {
      const trackId = file.track.id;
      const list = byTrack.get(trackId) ?? [];
      list.push(file);
      byTrack.set(trackId, list);
    }

    const tracks: PageTrack[] = share.tracks.getItems().map((st, index) => {
      const track = st.track;
      const files = (byTrack.get(track.id) ?? []).sort(compareFiles);
      const main = playerFile(files, (f) => noPreview(f) === null);
      const mainPeaks = main ? previews.get(main.id)?.peaks : null;
      const playUrl = (f: TrackFile) => `${base}/files/${f.id}/play`;
      const groups = FILE_CATEGORIES.map((category) => ({
        category,
        label: CATEGORY_LABELS[category],
        files: files
          .filter((f) => f.category === category)
          .map((f): PageFile => {
            // Also what Dropbox lists but won't serve (a cloud document, restricted content): listed, never linked.
            const unavailable = f.status === 'missing' || Boolean(f.unservable);
            const audio = isPlayable(f);
            const why = audio ? noPreview(f) : null;
            const canPlay = audio && !unavailable && !paused && why === null;
            const canDownload = access.downloads[category] && !unavailable && !paused;
            return {
              id: f.id,
              name: f.name,
              format: formatLabel(f.name, f.isPackage),
              size: f.size,
              durationSeconds: f.durationSeconds ?? null,
              unavailable,
              isMaster: f.isMaster,
              playUrl: canPlay ? playUrl(f) : null,
              downloadUrl: canDownload ? `${base}/files/${f.id}/download` : null,
              ownPlayer: canPlay && f !== main,
              listedOnly: !canPlay && !canDownload && !unavailable && why === null,
              preparing: canPlay && preparing(f),
              noPreview: unavailable ? null : why,
            };
          }),
      })).filter((g) => g.files.length > 0);
      return {
        id: track.id,
        number: index + 1,
        title: track.title,
        artist: track.artist ?? null,
        bpm: track.bpm ?? null,
        key: track.musicalKey ?? null,
        durationSeconds: main?.durationSeconds ?? null,
        artworkUrl:
          track.artworkVersion > 0 ? `${base}/artwork/${track.id}?size=small&v=${track.artworkVersion}` : null,
        artworkLargeUrl:
          track.artworkVersion > 0 ? `${base}/artwork/${track.id}?size=large&v=${track.artworkVersion}` : null,
        player:
          main && !paused ? { url: playUrl(main), name: main.name, fileId: main.id, preparing: preparing(main) } : null,
        waveform: mainPeaks ? waveformPath(mainPeaks) : null,
        groups,
      };
    });

    const owner = share.owner as User;
    const downloadable = items.some((i) => access.downloads[i.file.category] && i.file.status !== 'missing');
    const firstArt = share.tracks.getItems().find((t) => t.track.artworkVersion > 0)?.track;
    const trackCount = tracks.length === 1 ? '1 track' : `${tracks.length} tracks`;
    const commentable = tracks.flatMap((t) => [
      ...(t.player ? [{ id: t.player.fileId, label: t.title, duration: t.durationSeconds }] : []),
      ...t.groups.flatMap((g) =>
        g.files
          .filter((f) => f.ownPlayer)
          .map((f) => ({ id: f.id, label: `${t.title} — ${f.name}`, duration: f.durationSeconds })),
      ),
    ]);
    return {
      title: share.title,
      recipientName: access.recipient?.name ?? null,
      studio: owner.name,
      message: share.message ?? null,
      tracks,
      downloadsPaused: paused,
      downloadAllUrl: downloadable && !paused ? `${base}/download-all` : null,
      listeningOnly: joinWords(
        FILE_CATEGORIES.filter((c) => !access.downloads[c] && items.some((i) => i.file.category === c)).map((c) =>
          CATEGORY_LABELS[c].toLowerCase(),
        ),
      ),
      og: {
        title: share.title,
        description: share.message?.slice(0, 200) || `${trackCount} shared by ${owner.name}`,
        url: absolute,
        image: firstArt ? `${absolute}/artwork/${firstArt.id}?size=large&v=${firstArt.artworkVersion}` : null,
      },
      // A per-recipient link's page asks no name: the comment is theirs (see recipientOfLink).
      comments:
        access.comments && commentable.length > 0
          ? {
              action: `${base}/comments`,
              pageUrl: `${base}/comments`,
              listUrl: `${base}/comments/list`,
              csrfSlot: COMMENT_CSRF_SLOT,
              askName: access.recipient === null,
              files: commentable,
            }
          : null,
    };
  }

  /** The files a recipient may comment on, for the comments page's form: the page's players, in page order. */
  async commentableFiles(access: ShareAccess): Promise<PageComments['files']> {
    return (await this.model(access, null)).comments?.files ?? [];
  }

  /**
   * Keeps the rendered page for the next views. Indentation between tags goes (a 150-file page shrinks by about a
   * quarter); a newline stays wherever there was whitespace, so inline spacing is unchanged. The bytes are stored
   * under their own hash (also the page's ETag) and the token points at that id.
   */
  private async remember(access: ShareAccess, html: string): Promise<RenderedPage> {
    const bytes = Buffer.from(html.replace(/>\s*\n\s*</g, '>\n<'), 'utf8');
    const id = createHash('sha256').update(bytes).digest('base64url').slice(0, 32);
    await this.redis.client.set(this.htmlKey(id), bytes, 'PX', Math.max(1, this.tuning.pageCacheMs * 2)); // Redis refuses an expiry of 0
    await this.access.rememberPage(access, id);
    this.keepLocally(id, bytes);
    return { id, bytes };
  }

  /**
   * Renders a share's page once per process however many views ask at the same moment: when a popular link's page
   * has to be rebuilt (its cache ran out, or the share was edited), the views waiting for it share one render.
   */
  renderOnce(access: ShareAccess, render: () => Promise<string>): Promise<RenderedPage> {
    const key = `${access.token}|${access.version}`;
    let pending = this.rendering.get(key);
    if (!pending) {
      pending = render()
        .then((html) => this.remember(access, html))
        .finally(() => this.rendering.delete(key));
      this.rendering.set(key, pending);
    }
    return pending;
  }

  /**
   * The bytes of a rendered page by id. Ids are content hashes read from Redis on every view, so this process's
   * copy can never be stale: it only saves moving the same 100 KB out of Redis for every view.
   */
  async rendered(id: string): Promise<RenderedPage | null> {
    const local = this.local.get(id);
    if (local) return { id, bytes: local };
    const bytes = await this.redis.client.getBuffer(this.htmlKey(id));
    if (!bytes) return null;
    this.keepLocally(id, bytes);
    return { id, bytes };
  }

  private htmlKey(id: string): string {
    return this.redis.key('share', 'html', id);
  }

  private keepLocally(id: string, bytes: Buffer): void {
    this.local.delete(id);
    this.local.set(id, bytes);
    this.localBytes += bytes.length;
    // Oldest first out (Map keeps insertion order), within a fixed memory budget.
    for (const [oldId, old] of this.local) {
      if (this.localBytes <= LOCAL_PAGE_BYTES && this.local.size <= LOCAL_PAGES) break;
      this.local.delete(oldId);
      this.localBytes -= old.length;
    }
  }
}

function joinWords(words: string[]): string | null {
  if (words.length === 0) return null;
  return words.length === 1 ? words[0] : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}
