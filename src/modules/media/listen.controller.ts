import { Controller, Get, NotFoundException, Param, ParseUUIDPipe, Render, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { relayLink } from '../../common/http/relay';
import { formatDuration } from '../../common/views/handlebars';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { CurrentUser } from '../accounts/decorators';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { TemporaryLinksService } from '../dropbox/temporary-links.service';
import { CATEGORY_FOLDERS, formatLabel } from '../files/file-categories';
import { LibraryService } from '../files/library.service';
import { PREVIEW_CONTENT_TYPE } from './ffmpeg';
import { isPreviewable, PreviewsService, PreviewSummary } from './previews.service';
import { waveformPath } from './waveform';

const pageId = new ParseUUIDPipe({ exceptionFactory: () => new NotFoundException('not found') });
const HEAD = '<link rel="stylesheet" href="/static/css/share.css"><script src="/static/js/player.js" defer></script>';

function loudnessText(preview: PreviewSummary | undefined): string | null {
  if (!preview || preview.status !== 'ready') return null;
  const parts = [
    preview.loudnessLufs !== null ? `${preview.loudnessLufs.toFixed(1)} LUFS integrated` : 'silent',
    preview.truePeakDb !== null ? `${preview.truePeakDb.toFixed(1)} dBTP true peak` : null,
  ];
  return parts.filter(Boolean).join(', ');
}

/**
 * The producer's own listening page for a track: every audio file of the library with the same player and
 * waveforms recipients get, each file's preview status (pending / ready / no preview and why) and loudness.
 */
@ApiExcludeController()
@Controller('tracks/:id')
export class ListenController {
  constructor(
    private readonly library: LibraryService,
    private readonly previews: PreviewsService,
    private readonly dropbox: DropboxConnectionsService,
    private readonly links: TemporaryLinksService,
  ) {}

  @Get('listen')
  @Render('dashboard/listen')
  async page(@CurrentUser() user: AuthenticatedUser, @Param('id', pageId) id: string) {
    const { track, files } = await this.library.importedFiles(user.id, id);
    const audio = files.filter((f) => isPreviewable(f) && f.status !== 'missing');
    const previews = await this.previews.forFiles(audio);
    const unasked = audio.filter((f) => !previews.has(f.id));
    if (unasked.length) await this.previews.request(unasked);
    const connection = await this.dropbox.status(user.id);
    const artwork = track.artworkVersion > 0 ? `/tracks/${track.id}/artwork/large?v=${track.artworkVersion}` : null;
    return {
      title: `Listen · ${track.title}`,
      nav: 'tracks',
      head: HEAD,
      track: { id: track.id, title: track.title, artist: track.artist ?? null },
      dropboxReady: connection.connected && connection.status === 'active',
      ffmpegMissing: this.previews.ffmpegMissing,
      files: audio.map((f) => {
        const preview = previews.get(f.id);
        const status = preview?.status ?? 'pending';
        return {
          id: f.id,
          name: f.name,
          category: CATEGORY_FOLDERS[f.category],
          format: formatLabel(f.name, false),
          isMaster: f.isMaster,
          durationText: f.durationSeconds ? formatDuration(f.durationSeconds) : null,
          durationSeconds: f.durationSeconds ?? preview?.durationSeconds ?? null,
          playUrl: `/tracks/${track.id}/files/${f.id}/play`,
          previewUrl: status === 'ready' ? `/tracks/${track.id}/files/${f.id}/preview` : null,
          artwork,
          status,
          statusText: status === 'ready' ? 'Preview ready' : status === 'failed' ? 'No preview' : 'Preview pending',
          reason: preview?.reason ?? null,
          loudness: loudnessText(preview),
          waveform: preview?.peaks ? waveformPath(preview.peaks) : null,
        };
      }),
    };
  }

  /** The producer hears the original (a redirect to its temporary link). */
  @Get('files/:fileId/play')
  async play(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('fileId', pageId) fileId: string,
    @Res() res: Response,
  ) {
    const file = await this.library.ownedFile(user.id, id, fileId);
    if (!isPreviewable(file) || !file.rev) throw new NotFoundException('This file cannot be played.');
    const client = await this.dropbox.clientFor(user.id);
    const { link } = await this.links.link(client, { id: file.dropboxId, rev: file.rev });
    res.setHeader('Cache-Control', 'private, no-store');
    res.redirect(302, link);
  }

  /** …and can check what listen-only recipients hear: the preview, relayed like theirs. */
  @Get('files/:fileId/preview')
  async preview(
    @CurrentUser() user: AuthenticatedUser,
    @Param('id', pageId) id: string,
    @Param('fileId', pageId) fileId: string,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    const file = await this.library.ownedFile(user.id, id, fileId);
    const client = await this.dropbox.clientFor(user.id);
    const preview = await this.previews.servable(client, file);
    if (preview.state !== 'ready')
      throw new NotFoundException(
        preview.state === 'failed' ? `No preview: ${preview.reason}` : 'The preview is not ready yet.',
      );
    await relayLink(preview.link, PREVIEW_CONTENT_TYPE, req, res);
  }
}
