import { Injectable } from '@nestjs/common';
import { DbContext } from '../../database/db-context';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { TemporaryLinksService } from '../dropbox/temporary-links.service';
import { audioInfoOfUrl } from './audio-metadata';
import { Track } from './entities/track.entity';
import { isPlayable } from './file-categories';
import { TrackFileRepository } from './repositories/track-file.repository';

/**
 * Reads the audio facts of an imported file from its Dropbox temporary link. The metadata parser stops
 * after the headers, so a multi-GB WAV costs a few kilobytes of transfer.
 */
@Injectable()
export class AudioAnalysisService {
  constructor(
    private readonly db: DbContext,
    private readonly files: TrackFileRepository,
    private readonly dropbox: DropboxConnectionsService,
    private readonly links: TemporaryLinksService,
  ) {}

  async analyze(trackFileId: string): Promise<void> {
    await this.db.run(async () => {
      const file = await this.files.findOne({ id: trackFileId }, { populate: ['track'] });
      if (!file || !isPlayable(file) || file.durationSeconds != null || !file.rev) return;
      const client = await this.dropbox.clientFor((file.track as Track).owner.id);
      const { link } = await this.links.link(client, { id: file.dropboxId, rev: file.rev });
      const info = await audioInfoOfUrl(link, file.size);
      if (!info) return;
      await this.files.nativeUpdate({ id: file.id }, info);
    });
  }
}
