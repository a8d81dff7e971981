import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { DropboxModule } from '../dropbox/dropbox.module';
import { FilesModule } from '../files/files.module';
import { MediaPreview } from './entities/media-preview.entity';
import { ListenController } from './listen.controller';
import { PreviewsService } from './previews.service';

/** Previews, waveforms and loudness of audio files. Knows files and the Dropbox gateway; never share. */
@Module({
  imports: [MikroOrmModule.forFeature([MediaPreview]), DropboxModule, FilesModule],
  controllers: [ListenController],
  providers: [PreviewsService],
  exports: [PreviewsService],
})
export class MediaModule {}
