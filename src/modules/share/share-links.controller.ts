import {
  BadRequestException,
  Body,
  Controller,
  Get,
  HttpCode,
  NotFoundException,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
  UseGuards,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { Throttle } from '@nestjs/throttler';
import type { Request, Response } from 'express';
import { createHash } from 'node:crypto';
import { CsrfService } from '../../common/http/csrf';
import { validateForm } from '../../common/http/validation';
import { Public } from '../accounts/decorators';
import { TracksService } from '../files/tracks.service';
import { ListenBeaconDto, UnlockShareDto } from './dto/share.dto';
import { ShareListensService } from './share-listens.service';
import { isUnfurler } from './unfurlers';
import { CurrentShare, ShareAccessGuard, ShareRequest, ShareRoute } from './share-access.guard';
import { ShareAccessService } from './share-access.service';
import { PreviewPendingException, PreviewUnavailableException } from './share-file.errors';
import { isPlayable } from '../files/file-categories';
import { ShareFilesService } from './share-files.service';
import {
  fileRequestLimit,
  listenBeaconLimit,
  pageViewLimit,
  perShareTracker,
  unlockAttemptLimit,
} from './share-limits';
import { SharePublicFilter } from './share-public.filter';
import { SharePageService, withCommentToken } from './share-page.service';
import { SharesService } from './shares.service';
import { ShareStatsService } from './share-stats.service';

type LoadedShare = NonNullable<ShareRequest['share']>;

const MINUTE = 60_000;

function render(res: Response, view: string, locals: Record<string, unknown>): Promise<string> {
  return new Promise((resolve, reject) =>
    res.render(view, locals, (err: Error | null, html: string) => (err ? reject(err) : resolve(html))),
  );
}

/** A request that starts playback (not a player's later Range requests for the rest of the file). */
function startsPlayback(req: Request): boolean {
  const range = req.headers.range;
  return req.method === 'GET' && (!range || /^bytes=0-/.test(range));
}

/**
 * Play requests whose listening is measured from the bytes relayed: native players without JavaScript. The page's
 * script marks its own requests (`via=player`) and reports what was heard with beacons instead; HEAD and link
 * unfurlers hear nothing.
 */
function estimatedFromRanges(req: Request): boolean {
  return req.method === 'GET' && req.query.via !== 'player' && !isUnfurler(req);
}

/**
 * What a recipient opens: the playlist page and its file routes. No account; the token is the credential, and
 * ShareAccessGuard checks it the same way for every route here.
 */
@ApiExcludeController()
@Public()
@UseGuards(ShareAccessGuard)
@UseFilters(SharePublicFilter)
@Controller('s/:token')
export class ShareLinksController {
  constructor(
    private readonly access: ShareAccessService,
    private readonly pages: SharePageService,
    private readonly files: ShareFilesService,
    private readonly shares: SharesService,
    private readonly stats: ShareStatsService,
    private readonly tracks: TracksService,
    private readonly listens: ShareListensService,
    private readonly csrf: CsrfService,
  ) {}

  @Get()
  @ShareRoute('page')
  @Throttle({ default: { limit: pageViewLimit, ttl: MINUTE } })
  async page(@CurrentShare() share: LoadedShare, @Req() req: Request, @Res() res: Response): Promise<void> {
    let page = share.pageId ? await this.pages.rendered(share.pageId) : null;
    page ??= await this.pages.renderOnce(share.access, async () =>
      render(res, 'share/page', { ...(await this.pages.model(share.access, share.loaded)), layout: 'share/layout' }),
    );
    res.setHeader('X-Robots-Tag', 'noindex, nofollow');
    res.setHeader('Cache-Control', 'private, no-cache');
    // The comment form's CSRF token is the visitor's own, written into the page everyone shares.
    const csrf = share.access.comments ? this.csrf.tokenFor(req, res) : null;
    // Set here, so Express doesn't hash 100 KB per view; a revisiting phone gets a 304.
    res.setHeader(
      'ETag',
      csrf ? `"${page.id}.${createHash('sha256').update(csrf).digest('base64url').slice(0, 12)}"` : `"${page.id}"`,
    );
    res.type('html').send(csrf ? withCommentToken(page.bytes, csrf) : page.bytes);
    // Counted in memory, handed to Redis in batches. Link checkers' HEAD requests and unfurlers are not views.
    if (req.method === 'GET' && !isUnfurler(req)) this.stats.recordFor(share.access, 'view');
  }

  @Post()
  @ShareRoute('unlock')
  @Throttle({ default: { limit: unlockAttemptLimit, ttl: 5 * MINUTE, getTracker: perShareTracker } })
  async unlock(
    @CurrentShare() share: LoadedShare,
    @Body() body: unknown,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { access } = share;
    const back = `/s/${access.token}`;
    if (!access.hasPassword || this.access.isUnlocked(access, req)) return res.redirect(303, back);
    await this.access.countPasswordAttempt(access);
    const form = validateForm(UnlockShareDto, body);
    if (form.errors || !(await this.shares.passwordMatches(access.id, form.value.password))) {
      res.setHeader('X-Robots-Tag', 'noindex, nofollow');
      return res.status(form.errors ? 400 : 401).render('share/password', {
        layout: 'share/layout',
        title: 'Password required',
        action: back,
        error: form.errors ? form.errors[0].message : 'That password is not right. Please try again.',
      });
    }
    this.access.setUnlocked(access, res);
    res.redirect(303, back);
  }

  /**
   * Audio for the player. Listen-only categories get only the file's preview, relayed (never the original, never a
   * Dropbox link, also while the preview is being built: then 503 "Preparing the preview…" with Retry-After).
   * Download-enabled categories stream the preview too, unless the share streams originals; while their preview is
   * not ready, they play the original, which recipients may download anyway.
   */
  @Get('files/:fileId/play')
  @Throttle({ default: { limit: fileRequestLimit, ttl: MINUTE } })
  async play(
    @CurrentShare() share: LoadedShare,
    @Param('fileId') fileId: string,
    @Req() req: Request,
    @Res() res: Response,
  ): Promise<void> {
    const { access } = share;
    const { file } = await this.access.file(access, fileId, 'play');
    if (!isPlayable(file)) throw new NotFoundException('This file cannot be played, only listed.');
    const client = await this.files.client(access.ownerId);
    const downloadable = access.downloads[file.category];
    const preview = downloadable && access.streamOriginals ? null : await this.files.preview(access, client, file);
    if (preview?.state === 'ready') {
      const estimate = estimatedFromRanges(req);
      return this.files.relayPreview(preview.link, req, res, (relayed) => {
        if (estimate) void this.listens.estimate(access, file, req, relayed).catch(() => undefined);
      });
    }
    if (downloadable) {
      // Downloadable anyway: the browser may fetch the original from Dropbox directly. Its bytes then don't pass
      // here, so without the page's script a started playback is all that can be counted.
      const link = await this.files.link(access, client, file);
      if (startsPlayback(req) && estimatedFromRanges(req)) this.stats.recordFor(access, 'play');
      res.setHeader('Cache-Control', 'private, no-store');
      return res.redirect(302, link.link);
    }
    if (preview?.state === 'failed') throw new PreviewUnavailableException(preview.reason);
    throw new PreviewPendingException(preview?.reason ?? null);
  }

  @Get('files/:fileId/download')
  @Throttle({ default: { limit: fileRequestLimit, ttl: MINUTE } })
  async download(
    @CurrentShare() share: LoadedShare,
    @Param('fileId') fileId: string,
    @Res() res: Response,
  ): Promise<void> {
    const { access } = share;
    const { file } = await this.access.file(access, fileId, 'download');
    if (res.req.method === 'HEAD') return this.files.headOfDownload(file, res);
    const client = await this.files.client(access.ownerId);
    if (file.isPackage) {
      this.stats.recordFor(access, `download:${file.category}`);
      return this.files.sendPackage(access, client, file, res);
    }
    const link = await this.files.link(access, client, file);
    this.stats.recordFor(access, `download:${file.category}`);
    res.setHeader('Cache-Control', 'private, no-store');
    res.redirect(302, link.link);
  }

  /**
   * The player's listen beacons (navigator.sendBeacon, or fetch with keepalive): form fields fileId, session,
   * heard, position, duration and the share links' CSRF token (from `listens/csrf`). 204; only Redis is touched.
   */
  @Post('listens')
  @HttpCode(204)
  @Throttle({ default: { limit: listenBeaconLimit, ttl: MINUTE } })
  async listen(@CurrentShare() share: LoadedShare, @Body() body: unknown, @Req() req: Request): Promise<void> {
    const form = validateForm(ListenBeaconDto, body);
    if (form.errors)
      throw new BadRequestException({ message: form.errors.map((e) => e.message).join('; '), errors: form.errors });
    if (isUnfurler(req)) return;
    await this.listens.beacon(share.access, form.value);
  }

  /** The CSRF token beacons carry (the share links' signed double-submit cookie is set with it). */
  @Get('listens/csrf')
  @Throttle({ default: { limit: listenBeaconLimit, ttl: MINUTE } })
  listenToken(@Req() req: Request, @Res({ passthrough: true }) res: Response): { csrfToken: string } {
    res.setHeader('Cache-Control', 'private, no-store');
    return { csrfToken: this.csrf.tokenFor(req, res) };
  }

  @Get('download-all')
  @Throttle({ default: { limit: fileRequestLimit, ttl: MINUTE } })
  async downloadAll(@CurrentShare() share: LoadedShare, @Res() res: Response): Promise<void> {
    const { access } = share;
    this.access.assertAnyDownloadable(access);
    const client = await this.files.client(access.ownerId);
    await this.files.sendAll(access, client, access.title, res);
  }

  @Get('artwork/:trackId')
  @Throttle({ default: { limit: fileRequestLimit, ttl: MINUTE } })
  async artwork(
    @CurrentShare() share: LoadedShare,
    @Param('trackId') trackId: string,
    @Query('size') size: string | undefined,
    @Res() res: Response,
  ): Promise<void> {
    if (!(await this.shares.hasTrack(share.access.id, trackId)))
      throw new NotFoundException('No such artwork in this share.');
    const image = await this.tracks.artwork(trackId, size === 'small' ? 'small' : 'large');
    if (!image) throw new NotFoundException('This track has no artwork.');
    // The URL carries the artwork version, so a day of private caching never shows stale art.
    res.setHeader('Cache-Control', 'private, max-age=86400');
    res.type('image/jpeg').send(image);
  }
}
