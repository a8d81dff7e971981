import { MikroORM, RequestContext } from '@mikro-orm/postgresql';
import { Injectable } from '@nestjs/common';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { TemporaryLinksService } from '../dropbox/temporary-links.service';
import { audioInfoOfUrl } from './audio-metadata';
import { Track } from './entities/track.entity';
import { TrackFile } from './entities/track-file.entity';
import { isPlayable } from './file-categories';

/**
 * Reads the audio facts of an imported file from its Dropbox temporary link. The metadata parser stops
 * after the headers, so a multi-GB WAV costs a few kilobytes of transfer.
 */
@Injectable()
export class AudioAnalysisService {
  constructor(
    private readonly orm: MikroORM,
    private readonly dropbox: DropboxConnectionsService,
    private readonly links: TemporaryLinksService,
  ) {}

  async analyze(trackFileId: string): Promise<void> {
    await RequestContext.create(this.orm.em, async () => {
      const em = this.orm.em;
      const file = await em.findOne(TrackFile, { id: trackFileId }, { populate: ['track'] });
      if (!file || !isPlayable(file) || file.durationSeconds != null || !file.rev) return;
      const client = await this.dropbox.clientFor((file.track as Track).owner.id);
      const { link } = await this.links.link(client, { id: file.dropboxId, rev: file.rev });
      const info = await audioInfoOfUrl(link, file.size);
      if (!info) return;
      await em.nativeUpdate(TrackFile, { id: file.id }, info);
    });
  }
}
