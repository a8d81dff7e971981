import { MikroOrmModule } from '@mikro-orm/nestjs';
import { Module } from '@nestjs/common';
import { DropboxModule } from '../dropbox/dropbox.module';
import { AudioAnalysisService } from './audio-analysis.service';
import { CollaboratorsService } from './collaborators.service';
import { Collaborator } from './entities/collaborator.entity';
import { Track } from './entities/track.entity';
import { TrackArtwork } from './entities/track-artwork.entity';
import { TrackCollaborator } from './entities/track-collaborator.entity';
import { TrackFile } from './entities/track-file.entity';
import { Upload } from './entities/upload.entity';
import { LibraryChanges } from './library-changes';
import { LibraryService } from './library.service';
import { CollaboratorsApiController, TracksApiController, UploadsApiController } from './files-api.controller';
import { CollaboratorPagesController } from './collaborator-pages.controller';
import { LibraryPagesController } from './library-pages.controller';
import { TrackPageModels } from './track-page-models';
import { TrackPagesController } from './track-pages.controller';
import { FileVersionsController } from './file-versions.controller';
import { TrackCatalog } from './track-catalog.service';
import { TracksService } from './tracks.service';
import { SpoolBudget } from './spool-budget';
import { SpoolHosts } from './spool-hosts';
import { UploadJob } from './upload-job';
import { UploadReceiver } from './upload-receiver';
import { UploadsService } from './uploads.service';

@Module({
  imports: [
    MikroOrmModule.forFeature([Track, TrackArtwork, Collaborator, TrackCollaborator, TrackFile, Upload]),
    DropboxModule,
  ],
  controllers: [
    TracksApiController,
    UploadsApiController,
    CollaboratorsApiController,
    TrackPagesController,
    LibraryPagesController,
    CollaboratorPagesController,
    FileVersionsController,
  ],
  providers: [
    LibraryChanges,
    TracksService,
    LibraryService,
    UploadReceiver,
    UploadsService,
    UploadJob,
    AudioAnalysisService,
    CollaboratorsService,
    SpoolBudget,
    SpoolHosts,
    TrackPageModels,
    TrackCatalog,
  ],
  exports: [
    TrackCatalog,
    LibraryChanges,
    TracksService,
    LibraryService,
    UploadsService,
    UploadJob,
    AudioAnalysisService,
    CollaboratorsService,
  ],
})
export class FilesModule {}
