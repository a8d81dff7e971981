import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { BadRequestException, ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { SecretBox } from '../../common/crypto/secret-box';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DbContext } from '../../database/db-context';
import { hashPassword, verifyPassword } from '../accounts/passwords';
import { DropboxAuthExpired } from '../dropbox/dropbox.errors';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { CATEGORY_LABELS, FILE_CATEGORIES, FileCategory } from '../files/file-categories';
import type { Track } from '../files/entities/track.entity';
import { LibraryService } from '../files/library.service';
import { TrackCatalog } from '../files/track-catalog.service';
import type { LibraryItem } from '../files/library-items';
import { TracksService } from '../files/tracks.service';
import type { TrackView } from '../files/views';
import { CreateShareDto, MAX_SHARE_TRACKS, UpdateShareDto } from './dto/share.dto';
import { PreviewsService } from '../media/previews.service';
import type { Share } from './entities/share.entity';
import { ShareTrack } from './entities/share-track.entity';
import { ShareFileRepository } from './repositories/share-file.repository';
import { ShareRepository } from './repositories/share.repository';
import { ShareAccessService } from './share-access.service';
import { ResolvedContents, ShareContentsService } from './share-contents.service';
import { ShareClock } from './share-clock';
import {
  defaultDownloads,
  Downloads,
  downloadsOf,
  expiresAtFor,
  EXPIRY_LABELS,
  ExpiryChoice,
  linkStatus,
  LinkStatus,
  newShareToken,
  shareTokenAad,
  shareTokenHash,
} from './share-rules';
import { linkStats, ShareStatsService } from './share-stats.service';
import { isUuid } from '../../common/ids';
import { selectionOf } from '../files/file-selection';

export type ShareStatus = LinkStatus;

/** A share as the owner sees it (API and management page); never the entity, never the password hash. */
export interface ShareView {
  id: string;
  title: string;
  message: string | null;
  url: string;
  path: string;
  status: ShareStatus;
  expiry: ExpiryChoice;
  expiryLabel: string;
  expiresAt: string | null;
  revokedAt: string | null;
  hasPassword: boolean;
  downloads: Downloads;
  streamOriginals: boolean;
  /** Recipients may comment at a time; `commentsPublic`: everyone sees every comment. */
  comments: boolean;
  commentsPublic: boolean;
  /** In order, each with its files as selection values (`f:<id>`) and followed categories: the shape PATCH takes. */
  tracks: Array<{ id: string; title: string; files: string[]; follow: FileCategory[] }>;
  fileCount: number;
  stats: {
    views: number;
    plays: number;
    listenedSeconds: number;
    downloads: Record<FileCategory, number>;
    lastAccessedAt: string | null;
  };
  createdAt: string;
}

/** A share as an admin sees it on the links page: whose it is, besides the owner's view. */
export interface AdminShareView extends ShareView {
  owner: { id: string; email: string; name: string; disabled: boolean };
}

export interface ShareTabTrack {
  track: TrackView;
  folderMissing: boolean;
  groups: Array<{
    category: FileCategory;
    label: string;
    items: Array<LibraryItem & { value: string; checked: boolean }>;
  }>;
}

export interface ShareTab {
  connected: boolean;
  /** Set while Dropbox says the account is full ("Your Dropbox is full (…): free some space, then Retry"). */
  storageFull?: string | null;
  /** Set while the Dropbox account's email is not verified. */
  emailUnverified?: string | null;
  tracks: ShareTabTrack[];
  defaults: Downloads;
  defaultTitle: string;
}

@Injectable()
export class SharesService {
  constructor(
    private readonly shares: ShareRepository,
    @InjectRepository(ShareTrack) private readonly shareTracks: EntityRepository<ShareTrack>,
    private readonly shareFiles: ShareFileRepository,
    private readonly db: DbContext,
    private readonly catalog: TrackCatalog,
    private readonly tracks: TracksService,
    private readonly library: LibraryService,
    private readonly dropbox: DropboxConnectionsService,
    private readonly access: ShareAccessService,
    private readonly contents: ShareContentsService,
    private readonly stats: ShareStatsService,
    private readonly clock: ShareClock,
    private readonly previews: PreviewsService,
    private readonly box: SecretBox,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * The Share tab for one or several tracks: each track's library (imported files and files found in its Dropbox
   * folder), default permissions from the tracks' sharing status. Without a working Dropbox connection it says so.
   */
  async tab(
    ownerId: string,
    trackIds: string[],
    selected?: Set<string>,
    multi = trackIds.length > 1,
  ): Promise<ShareTab> {
    const owned = await this.ownedTracks(ownerId, trackIds);
    const views = await this.tracks.views(owned);
    const status = await this.dropbox.status(ownerId);
    const base = {
      defaults: defaultDownloads(owned.map((t) => t.sharingStatus)),
      defaultTitle: this.defaultTitle(owned),
    };
    if (!(status.connected && status.status === 'active')) return { connected: false, tracks: [], ...base };

    const tracks: ShareTabTrack[] = [];
    try {
      for (const view of views) {
        const library = await this.library.library(ownerId, view.id);
        const groups = FILE_CATEGORIES.map((category) => ({
          category,
          label: CATEGORY_LABELS[category],
          items: library.items
            .filter((item) => item.category === category)
            .map((item) => {
              const own = selectionOf(item);
              const value = multi ? `${view.id}/${own}` : own;
              const pickable = item.status !== 'missing' && !item.cantServe;
              return { ...item, value, checked: pickable && (selected ? selected.has(value) : category === 'bounce') };
            }),
        })).filter((g) => g.items.length > 0);
        tracks.push({ track: view, folderMissing: library.folderMissing, groups });
      }
    } catch (err) {
      if (err instanceof DropboxAuthExpired) return { connected: false, tracks: [], ...base };
      throw err;
    }
    return {
      connected: true,
      tracks,
      storageFull: status.storageFull?.message ?? null,
      emailUnverified: status.emailUnverified?.message ?? null,
      ...base,
    };
  }

  /**
   * The contents editor of a share: the Share tab of `trackIds` (default: the share's tracks, in order) with the
   * share's files ticked; a track being added gets its bounces ticked, as on creation.
   */
  async contentsTab(
    ownerId: string,
    shareId: string,
    trackIds?: string[],
  ): Promise<{ share: ShareView; tab: ShareTab }> {
    const share = await this.get(ownerId, shareId);
    const ids = trackIds?.length ? trackIds : share.tracks.map((t) => t.id);
    const selected = new Set(share.tracks.flatMap((t) => t.files.map((f) => `${t.id}/${f}`)));
    const tab = await this.tab(ownerId, ids, selected, true);
    const onShare = new Set(share.tracks.map((t) => t.id));
    for (const { track, groups } of tab.tracks) {
      if (onShare.has(track.id)) continue;
      for (const item of groups.find((g) => g.category === 'bounce')?.items ?? [])
        item.checked = item.status !== 'missing';
    }
    return { share, tab };
  }

  /** The owner's tracks that could be added to a share (most recently changed first). */
  async otherTracks(
    ownerId: string,
    exclude: string[],
  ): Promise<Array<{ id: string; title: string; artist: string | null }>> {
    const page = await this.tracks.list(ownerId, { sort: 'updated', pageSize: 100 });
    const skip = new Set(exclude);
    return page.items
      .filter((t) => !skip.has(t.id))
      .map((t) => ({ id: t.id, title: t.title, artist: t.artist ?? null }));
  }

  async create(ownerId: string, dto: CreateShareDto): Promise<ShareView> {
    // Refuses clearly (409, "connect it in Settings") before anything is imported.
    await this.dropbox.clientFor(ownerId);
    const contents = await this.contents.resolve(ownerId, dto.tracks, 'not-found');
    const owned = contents.tracks.map((t) => t.track);

    const now = this.clock.now();
    const expiry = dto.expiry ?? '30d';
    const downloads = { ...defaultDownloads(owned.map((t) => t.sharingStatus)), ...definedOnly(dto.downloads) };
    const token = newShareToken();
    const share = this.shares.create({
      owner: ownerId,
      tokenHash: shareTokenHash(token),
      title: dto.title ?? this.defaultTitle(owned),
      message: dto.message ?? null,
      passwordHash: dto.password ? await hashPassword(dto.password) : null,
      downloadBounce: downloads.bounce,
      downloadProject: downloads.project,
      downloadStem: downloads.stem,
      streamOriginals: dto.streamOriginals ?? false,
      comments: dto.comments ?? false,
      commentsPublic: dto.commentsPublic ?? false,
      expiry,
      expiresAt: expiresAtFor(expiry, now),
      createdAt: now,
    });
    share.tokenSealed = this.box.seal(token, shareTokenAad(share.id));
    this.contents.add(share, contents);
    await this.db.flush();
    // Recipients will listen: every audio file gets its preview built now (no-op for those built already).
    await this.requestPreviews(contents);
    return this.get(ownerId, share.id);
  }

  async list(ownerId: string): Promise<ShareView[]> {
    const shares = await this.shares.find(
      { owner: ownerId },
      { populate: ['tracks', 'tracks.track'], orderBy: { createdAt: 'desc', id: 'asc' } },
    );
    return this.views(shares);
  }

  async get(ownerId: string, shareId: string): Promise<ShareView> {
    return (await this.views([await this.owned(ownerId, shareId)]))[0];
  }

  /** Applies at once: the token (the URL) never changes, cached copies are dropped. */
  async update(ownerId: string, shareId: string, dto: UpdateShareDto): Promise<ShareView> {
    const share = await this.owned(ownerId, shareId);
    if (share.revokedAt) {
      throw new ConflictException({
        message: 'This link is disabled and can no longer be changed. Create a new link to share again.',
        reason: 'revoked',
      });
    }
    // New contents are checked (and files not imported yet imported) before anything of the share changes.
    const contents = dto.tracks ? await this.contents.resolve(ownerId, dto.tracks, 'bad-request') : null;
    if (contents) await this.contents.replace(share, contents);
    if (dto.title !== undefined)
      share.title = dto.title ?? this.defaultTitle(share.tracks.getItems().map((t) => t.track));
    if (dto.message !== undefined) share.message = dto.message;
    if (dto.expiry !== undefined) {
      share.expiry = dto.expiry;
      share.expiresAt = expiresAtFor(dto.expiry, this.clock.now());
    }
    if (dto.streamOriginals !== undefined) share.streamOriginals = dto.streamOriginals;
    if (dto.comments !== undefined) share.comments = dto.comments;
    if (dto.commentsPublic !== undefined) share.commentsPublic = dto.commentsPublic;
    if (dto.downloads) {
      const d = definedOnly(dto.downloads);
      if (d.bounce !== undefined) share.downloadBounce = d.bounce;
      if (d.project !== undefined) share.downloadProject = d.project;
      if (d.stem !== undefined) share.downloadStem = d.stem;
    }
    if (dto.password !== undefined) {
      share.passwordHash = dto.password === null ? null : await hashPassword(dto.password);
      share.passwordVersion += 1;
    }
    await this.db.flush();
    await this.access.publish(share);
    if (contents) {
      this.db.clear(); // the share's collections were rewritten: read them again
      await this.requestPreviews(contents);
    }
    return this.get(ownerId, share.id);
  }

  /** Recipients will listen: every audio file on the share gets its preview built (nothing for those built already). */
  private async requestPreviews(contents: ResolvedContents): Promise<void> {
    const ids = contents.tracks.flatMap((t) => t.fileIds);
    if (ids.length) await this.previews.request(await this.catalog.filesByIds(ids));
  }

  async revoke(ownerId: string, shareId: string): Promise<ShareView> {
    const share = await this.owned(ownerId, shareId);
    share.revokedAt ??= this.clock.now();
    await this.db.flush();
    await this.access.publish(share);
    return this.get(ownerId, share.id);
  }

  /** Every producer's links, newest first (the admin's links page). */
  async listAll(): Promise<AdminShareView[]> {
    const shares = await this.shares.find(
      {},
      { populate: ['owner', 'tracks', 'tracks.track'], orderBy: { createdAt: 'desc', id: 'asc' } },
    );
    const views = await this.views(shares);
    return views.map((view, i) => {
      const owner = shares[i].owner;
      return { ...view, owner: { id: owner.id, email: owner.email, name: owner.name, disabled: owner.disabled } };
    });
  }

  /** An admin revoking any producer's link (404 for an unknown id); applies at once, like the owner's revoke. */
  async revokeAny(shareId: string): Promise<ShareView> {
    const share = await this.shares.findOne({ id: shareId });
    if (!share) throw new NotFoundException('share not found');
    return this.revoke(share.owner.id, shareId);
  }

  async passwordMatches(shareId: string, password: string): Promise<boolean> {
    const share = await this.shares.findOne({ id: shareId }, { fields: ['passwordHash'] });
    return Boolean(share?.passwordHash) && verifyPassword(share!.passwordHash!, password);
  }

  async hasTrack(shareId: string, trackId: string): Promise<boolean> {
    if (!isUuid(trackId)) return false;
    return (await this.shareTracks.count({ share: shareId, track: trackId })) > 0;
  }

  /** Someone else's share is indistinguishable from a missing one. */
  private async owned(ownerId: string, shareId: string): Promise<Share> {
    const share = await this.shares.findOne({ id: shareId, owner: ownerId }, { populate: ['tracks', 'tracks.track'] });
    if (!share) throw new NotFoundException('share not found');
    return share;
  }

  private async ownedTracks(ownerId: string, trackIds: string[]): Promise<Track[]> {
    if (trackIds.length === 0) {
      throw new BadRequestException({
        field: 'tracks',
        message: 'choose at least one track (tick them on the Tracks list, then Share selected)',
      });
    }
    if (trackIds.length > MAX_SHARE_TRACKS) {
      throw new BadRequestException({
        field: 'tracks',
        message: `a share holds at most ${MAX_SHARE_TRACKS} tracks; ${trackIds.length} were selected — untick some, or make several links`,
      });
    }
    if (trackIds.some((id) => !isUuid(id))) {
      throw new BadRequestException({ field: 'tracks', message: 'tracks must be track ids' });
    }
    return this.catalog.ownedTracksOr404(ownerId, trackIds);
  }

  /** The link's token for its owner (and admins) to copy: opened from its sealed copy. */
  private tokenOf(share: Share): string {
    if (share.tokenSealed) return this.box.open(share.tokenSealed, shareTokenAad(share.id));
    // A link from before tokens were sealed, on a database `npm run migrate` has not sealed yet.
    if (share.legacyToken) return share.legacyToken;
    throw new Error(`share ${share.id} has no token`);
  }

  private defaultTitle(tracks: Track[]): string {
    return tracks.length === 1 ? tracks[0].title : `${tracks.length} tracks`;
  }

  private async views(shares: Share[]): Promise<ShareView[]> {
    if (shares.length === 0) return [];
    const ids = shares.map((s) => s.id);
    const counts = await this.shareFiles.countsByShare(ids);
    const files = await this.contents.filesByShare(ids);
    const pending = await this.stats.pending(ids);
    const now = this.clock.now();
    return shares.map((share) => {
      const path = `/s/${this.tokenOf(share)}`;
      return {
        id: share.id,
        title: share.title,
        message: share.message ?? null,
        url: `${this.config.http.publicUrl}${path}`,
        path,
        status: linkStatus(share, now),
        expiry: share.expiry as ExpiryChoice,
        expiryLabel: EXPIRY_LABELS[share.expiry as ExpiryChoice] ?? share.expiry,
        expiresAt: share.expiresAt?.toISOString() ?? null,
        revokedAt: share.revokedAt?.toISOString() ?? null,
        hasPassword: Boolean(share.passwordHash),
        downloads: downloadsOf(share),
        streamOriginals: share.streamOriginals,
        comments: share.comments,
        commentsPublic: share.commentsPublic,
        tracks: share.tracks.getItems().map((t) => ({
          id: t.track.id,
          title: t.track.title,
          files: files.get(share.id)?.get(t.track.id) ?? [],
          follow: [...t.follow],
        })),
        fileCount: counts.get(share.id) ?? 0,
        stats: linkStats(share, pending.get(share.id)),
        createdAt: share.createdAt.toISOString(),
      };
    });
  }
}

function definedOnly(d: { bounce?: boolean; project?: boolean; stem?: boolean } | undefined): Partial<Downloads> {
  const result: Partial<Downloads> = {};
  for (const c of FILE_CATEGORIES) if (d?.[c] !== undefined) result[c] = d[c];
  return result;
}
