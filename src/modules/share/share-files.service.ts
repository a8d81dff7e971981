import { InjectRepository } from '@mikro-orm/nestjs';
import { EntityRepository } from '@mikro-orm/postgresql';
import { HttpException, HttpStatus, Injectable, Logger } from '@nestjs/common';
import archiver from 'archiver';
import type { Request, Response } from 'express';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Relayed, relayLink } from '../../common/http/relay';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { tryRedisLock } from '../../common/redis/redis-lock';
import { RedisService } from '../../common/redis/redis.module';
import {
  DropboxAuthExpired,
  DropboxEmailUnverified,
  DropboxError,
  DropboxNotFound,
  DropboxUnservable,
} from '../dropbox/dropbox.errors';
import type { DropboxAccountClient } from '../dropbox/dropbox.gateway';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import type { TemporaryLink } from '../dropbox/dropbox.types';
import { TemporaryLinksService } from '../dropbox/temporary-links.service';
import { CATEGORY_FOLDERS, contentTypeOf, FILE_CATEGORIES } from '../files/file-categories';
import { LibraryService } from '../files/library.service';
import type { TrackFile } from '../files/entities/track-file.entity';
import { ShareTrack } from './entities/share-track.entity';
import { ShareFileRepository } from './repositories/share-file.repository';
import { PREVIEW_CONTENT_TYPE } from '../media/ffmpeg';
import { PreviewsService, type ServablePreview } from '../media/previews.service';
import { ShareAccess, ShareAccessService } from './share-access.service';
import { ShareStatsService } from './share-stats.service';
import { ShareTuning } from './share-tuning';
import { addNote, appendEntry, contentDisposition, headOnly, ZipAdd, zipName } from './zip-stream';
import { DownloadsPausedException, FileUnavailableException, FileUnservableException } from './share-file.errors';
import { ZipSlots } from './zip-slots';
import { firstFreeName } from '../../common/free-names';

type PackageEntries = Awaited<ReturnType<DropboxAccountClient['listFolder']>>;

interface LiveRevision {
  rev: string;
  size: number;
  contentHash: string | null;
}

const MISSING = '-';
const FILL_LOCK_MS = 15_000;
const FILL_WAIT_MS = 15_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isNotFound(err: unknown): boolean {
  return err instanceof DropboxNotFound || (err instanceof DropboxError && err.tags.includes('not_found'));
}

/**
 * Serving a share's files as they are in Dropbox now. A file's current revision is asked of Dropbox at most once
 * per `revisionCheckMs` (shared by every process through Redis, single-flight), then the temporary link of that
 * revision comes from the link cache: one link fetch per file revision however many recipients play it.
 */
@Injectable()
export class ShareFilesService {
  private readonly logger = new Logger(ShareFilesService.name);

  constructor(
    @InjectRepository(ShareTrack) private readonly shareTracks: EntityRepository<ShareTrack>,
    private readonly shareFiles: ShareFileRepository,
    private readonly redis: RedisService,
    private readonly dropbox: DropboxConnectionsService,
    private readonly links: TemporaryLinksService,
    private readonly access: ShareAccessService,
    private readonly stats: ShareStatsService,
    private readonly tuning: ShareTuning,
    private readonly library: LibraryService,
    private readonly previews: PreviewsService,
    private readonly zips: ZipSlots,
  ) {}

  async client(ownerId: string): Promise<DropboxAccountClient> {
    try {
      return await this.dropbox.clientFor(ownerId);
    } catch (err) {
      if (err instanceof DropboxAuthExpired) throw new DownloadsPausedException();
      throw err;
    }
  }

  /** The temporary link of the file's live revision; learns new revisions and deletions on the way. */
  async link(access: ShareAccess, client: DropboxAccountClient, file: TrackFile): Promise<TemporaryLink> {
    // A cloud document never becomes servable; restricted content and banned links are asked again.
    if (file.unservable === 'unsupported_file') throw new FileUnservableException();
    const live = await this.liveRevision(client, file).catch(async (err: unknown) => {
      if (err instanceof DropboxUnservable) await this.markUnservable(access, file, err.reason);
      throw err instanceof DropboxUnservable ? new FileUnservableException() : err;
    });
    if (!live) {
      await this.markMissing(access, file);
      throw new FileUnavailableException();
    }
    let link: TemporaryLink;
    try {
      link = await this.links.link(client, { id: file.dropboxId, rev: live.rev });
    } catch (err) {
      if (this.isPausing(err)) throw new DownloadsPausedException();
      if (err instanceof DropboxUnservable) {
        await this.markUnservable(access, file, err.reason);
        throw new FileUnservableException();
      }
      if (!isNotFound(err)) throw err;
      await this.markMissing(access, file);
      throw new FileUnavailableException();
    }
    if (file.unservable) await this.markUnservable(access, file, null);
    const served = {
      rev: link.entry.rev ?? live.rev,
      size: link.entry.size ?? live.size,
      contentHash: link.entry.contentHash ?? live.contentHash,
    };
    if (served.rev !== file.rev || file.status === 'missing') await this.recordRevision(access, client, file, served);
    return link;
  }

  /**
   * The preview of the file's live revision, as the play route may serve it. The revision is checked the same way
   * as for a link to the original (at most once per `revisionCheckMs`), so a new revision in Dropbox plays its own
   * preview as soon as it is built — until then, it is "pending", never the original.
   */
  async preview(access: ShareAccess, client: DropboxAccountClient, file: TrackFile): Promise<ServablePreview> {
    const live = await this.liveRevision(client, file);
    if (!live) {
      await this.markMissing(access, file);
      throw new FileUnavailableException();
    }
    if (live.rev !== file.rev || file.status === 'missing') await this.recordRevision(access, client, file, live);
    try {
      return await this.previews.servable(client, file);
    } catch (err) {
      if (this.isPausing(err)) throw new DownloadsPausedException();
      throw err;
    }
  }

  /** A preview relayed by our server, honouring Range: its Dropbox link never reaches the recipient. */
  relayPreview(link: string, req: Request, res: Response, onRelayed?: (relayed: Relayed) => void): Promise<void> {
    return relayLink(link, PREVIEW_CONTENT_TYPE, req, res, onRelayed);
  }

  /** HEAD of a download (link checkers, download managers probing): headers only — no Dropbox call, not counted. */
  headOfDownload(file: TrackFile, res: Response): void {
    if (file.isPackage) {
      headOnly(res, `${zipName(file.name)}.zip`);
      return;
    }
    res.status(200);
    res.setHeader('Content-Disposition', contentDisposition(file.name));
    res.setHeader('Cache-Control', 'private, no-store');
    res.type(contentTypeOf(file.name)).end();
  }

  /** A package (a Logic `.logicx` bundle is a folder) as one ZIP, built while it streams. */
  async sendPackage(access: ShareAccess, client: DropboxAccountClient, file: TrackFile, res: Response): Promise<void> {
    const filename = `${zipName(file.name)}.zip`;
    if (headOnly(res, filename)) return;
    const release = await this.zips.acquire(access.id);
    try {
      let entries: PackageEntries;
      try {
        entries = await this.packageEntries(client, file);
      } catch (err) {
        if (this.isPausing(err)) throw new DownloadsPausedException();
        if (!isNotFound(err)) throw err;
        await this.markMissing(access, file);
        throw new FileUnavailableException();
      }
      await this.streamZip(res, filename, async (add) => {
        const left: string[] = [];
        await this.addPackage(add, client, entries, file, zipName(file.name), left);
        await addNote(add, left);
      });
    } finally {
      await release();
    }
  }

  /** Every file recipients may download, in the owner's order, as one ZIP streamed as it is built. */
  async sendAll(access: ShareAccess, client: DropboxAccountClient, title: string, res: Response): Promise<void> {
    const filename = `${zipName(title)}.zip`;
    if (headOnly(res, filename)) return;
    const release = await this.zips.acquire(access.id);
    try {
      await this.buildAll(access, client, filename, res);
    } finally {
      await release();
    }
  }

  private async buildAll(
    access: ShareAccess,
    client: DropboxAccountClient,
    filename: string,
    res: Response,
  ): Promise<void> {
    const order = await this.shareTracks.find(
      { share: access.id },
      { orderBy: { position: 'asc' }, populate: ['track'] },
    );
    const items = await this.shareFiles.find({ share: access.id }, { populate: ['file'] });
    const permitted = items.map((i) => i.file).filter((f) => access.downloads[f.category] && f.status !== 'missing');
    const left: string[] = [];
    if (permitted.length === 0)
      throw new HttpException('Nothing in this share can be downloaded.', HttpStatus.FORBIDDEN);
    const used = new Set<string>();
    const unique = (path: string) => {
      // A share holds at most a few thousand files: a free name is always found.
      const candidate = firstFreeName(path, (name) => used.has(name), used.size + 1)!;
      used.add(candidate.toLowerCase());
      return candidate;
    };
    await this.streamZip(res, filename, async (add) => {
      for (const st of order) {
        const track = st.track;
        for (const category of FILE_CATEGORIES) {
          const files = permitted.filter((f) => f.track.id === track.id && f.category === category);
          for (const file of files.sort((a, b) => a.name.localeCompare(b.name))) {
            const folder = `${zipName(track.title)}/${CATEGORY_FOLDERS[category]}`;
            try {
              if (file.isPackage) {
                const entries = await this.packageEntries(client, file);
                await this.addPackage(add, client, entries, file, unique(`${folder}/${zipName(file.name)}`), left);
              } else {
                const link = await this.link(access, client, file);
                await add(unique(`${folder}/${zipName(file.name)}`), link.link);
              }
              this.stats.recordFor(access, `download:${category}`);
            } catch (err) {
              // A file deleted since the page was rendered is left out; the rest of the archive still arrives.
              if (err instanceof FileUnavailableException || isNotFound(err)) continue;
              if (err instanceof FileUnservableException || err instanceof DropboxUnservable) {
                left.push(`${folder}/${file.name}`);
                continue;
              }
              throw err;
            }
          }
        }
      }
      await addNote(add, left);
    });
  }

  private async addPackage(
    add: ZipAdd,
    client: DropboxAccountClient,
    entries: PackageEntries,
    pkg: TrackFile,
    root: string,
    left: string[],
  ): Promise<void> {
    const base = entries.find((e) => e.id === pkg.dropboxId)?.pathLower ?? pkg.dropboxPath.toLowerCase();
    for (const entry of entries) {
      if (entry.kind !== 'file' || !entry.rev) continue;
      const relative = entry.pathLower.startsWith(`${base}/`) ? entry.pathDisplay.slice(base.length + 1) : entry.name;
      const name = `${root}/${relative.split('/').map(zipName).join('/')}`;
      // What Dropbox won't serve is left out and named in the note, rather than cutting the archive short.
      if (entry.downloadable === false) {
        left.push(name);
        continue;
      }
      let link: TemporaryLink;
      try {
        link = await this.links.link(client, { id: entry.id, rev: entry.rev });
      } catch (err) {
        if (!(err instanceof DropboxUnservable)) throw err;
        left.push(name);
        continue;
      }
      await add(name, link.link);
    }
  }

  /**
   * A package's files (a `.logicx` bundle can hold thousands), listed from Dropbox at most once per
   * `revisionCheckMs` for every process — each entry carries its revision, whose temporary link is cached in turn —
   * so asking for the same package again costs no Dropbox call until the listing is due for a re-check.
   */
  private async packageEntries(client: DropboxAccountClient, file: TrackFile): Promise<PackageEntries> {
    const ttl = this.tuning.revisionCheckMs;
    const key = this.redis.key('share', 'pkg', client.accountId, file.dropboxId);
    if (ttl > 0) {
      const cached = await this.redis.client.get(key);
      if (cached) return JSON.parse(cached) as PackageEntries;
    }
    const entries = (await client.listFolder(file.dropboxId, { recursive: true })).map(
      ({ kind, id, name, pathLower, pathDisplay, rev }) => ({
        kind,
        id,
        name,
        pathLower,
        pathDisplay,
        rev,
      }),
    );
    if (ttl > 0) await this.redis.client.set(key, JSON.stringify(entries), 'PX', ttl);
    return entries;
  }

  /**
   * Streams a ZIP to the response: entries are fetched one at a time from their temporary links and piped
   * through archiver (stored, not deflated: audio and DAW files barely compress), so memory stays flat and
   * nothing touches the disk.
   */
  private async streamZip(res: Response, filename: string, fill: (add: ZipAdd) => Promise<void>) {
    const archive = archiver('zip', { store: true });
    // One controller per entry: a shared signal passed to every fetch collected one listener per entry (hundreds of
    // MaxListenersExceededWarnings for a large package).
    let current: AbortController | null = null;
    let clientGone = false;
    res.on('close', () => {
      if (!res.writableFinished) {
        clientGone = true;
        current?.abort();
        archive.abort();
      }
    });
    res.status(200);
    res.setHeader('Content-Type', 'application/zip');
    res.setHeader('Content-Disposition', contentDisposition(filename));
    res.setHeader('Cache-Control', 'private, no-store');
    const piping = pipeline(archive, res).catch((err: unknown) => {
      if (!clientGone) this.logger.warn({ error: (err as Error).message }, 'ZIP stream stopped');
    });
    const add = async (name: string, url: string | Buffer) => {
      if (clientGone) throw new Error('the recipient went away');
      if (Buffer.isBuffer(url)) return appendEntry(archive, Readable.from([url]), name);
      current = new AbortController();
      const upstream = await fetch(url, { signal: current.signal });
      if (!upstream.ok || !upstream.body) throw new Error(`Dropbox answered ${upstream.status} for ${name}`);
      await appendEntry(archive, Readable.fromWeb(upstream.body as unknown as WebReadableStream), name);
    };
    try {
      await fill(add);
      await archive.finalize();
    } catch (err) {
      if (clientGone) return;
      // Headers are gone already: cut the connection so the recipient sees a failed download, not a short ZIP.
      this.logger.warn({ error: (err as Error).message }, 'ZIP could not be completed');
      res.destroy(err as Error);
      archive.abort();
    }
    await piping;
  }

  /**
   * The file's revision in Dropbox now, or null when it is gone. Asked at most once per `revisionCheckMs` for all
   * processes; concurrent askers wait for the one call.
   */
  private async liveRevision(client: DropboxAccountClient, file: TrackFile): Promise<LiveRevision | null> {
    const key = this.liveKey(client, file);
    const ttl = this.tuning.revisionCheckMs;
    const parse = (value: string) => (value === MISSING ? null : (JSON.parse(value) as LiveRevision));
    // A revision the library learned since the answer was cached (a new version uploaded or restored through the
    // dashboard) makes that answer stale: it is asked again at once rather than served for up to revisionCheckMs.
    const current = (value: string | null): value is string =>
      value !== null && (value === MISSING ? file.status === 'missing' : parse(value)!.rev === file.rev);
    const deadline = Date.now() + FILL_WAIT_MS;
    for (;;) {
      if (ttl > 0) {
        const cached = await this.redis.client.get(key);
        if (current(cached)) return parse(cached);
      }
      const release =
        ttl > 0 ? await tryRedisLock(this.redis.client, `${key}:fill`, FILL_LOCK_MS) : async () => undefined;
      if (release) {
        try {
          if (ttl > 0) {
            const again = await this.redis.client.get(key);
            if (current(again)) return parse(again);
          }
          const value = await this.askDropbox(client, file);
          if (ttl > 0) await this.redis.client.set(key, value ? JSON.stringify(value) : MISSING, 'PX', ttl);
          return value;
        } finally {
          await release();
        }
      }
      if (Date.now() > deadline) return this.askDropbox(client, file);
      await sleep(10 + Math.random() * 10);
    }
  }

  private liveKey(client: DropboxAccountClient, file: TrackFile): string {
    return this.redis.key('share', 'live', client.accountId, file.dropboxId);
  }

  private async askDropbox(client: DropboxAccountClient, file: TrackFile): Promise<LiveRevision | null> {
    try {
      const entry = await client.getMetadata(file.dropboxId);
      if (entry.kind !== 'file' || !entry.rev) return null;
      return { rev: entry.rev, size: entry.size ?? file.size, contentHash: entry.contentHash ?? null };
    } catch (err) {
      if (this.isPausing(err)) throw new DownloadsPausedException();
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** Nothing the recipient can do: the producer must reconnect, or verify their email at Dropbox. */
  private isPausing(err: unknown): boolean {
    return err instanceof DropboxAuthExpired || err instanceof DropboxEmailUnverified;
  }

  /** What serving the file showed about it goes back to the library (the files module owns the row). */
  private async recordRevision(
    access: ShareAccess,
    client: DropboxAccountClient,
    file: TrackFile,
    live: LiveRevision,
  ): Promise<void> {
    await this.library.recordRevision(file.id, live);
    // What Dropbox just said replaces what was cached, so an older revision can't be recorded back from the cache.
    const key = this.liveKey(client, file);
    if (this.tuning.revisionCheckMs > 0)
      await this.redis.client.set(key, JSON.stringify(live), 'PX', this.tuning.revisionCheckMs);
    else await this.redis.client.del(key);
    Object.assign(file, { rev: live.rev, size: live.size, contentHash: live.contentHash, status: 'ready' });
    await this.access.invalidateSharePages(access.id);
  }

  private async markUnservable(access: ShareAccess, file: TrackFile, reason: string | null): Promise<void> {
    await this.library.markUnservable(file.id, reason);
    file.unservable = reason;
    await this.access.invalidateSharePages(access.id);
  }

  private async markMissing(access: ShareAccess, file: TrackFile): Promise<void> {
    if (file.status !== 'missing') {
      await this.library.markMissing(file.id);
      file.status = 'missing';
    }
    await this.access.invalidateSharePages(access.id);
  }
}
