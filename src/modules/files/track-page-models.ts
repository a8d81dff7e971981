import { Inject, Injectable } from '@nestjs/common';
import type { Response } from 'express';
import { AuthenticatedUser } from '../../common/authenticated-user';
import { APP_CONFIG, AppConfig } from '../../config/app-config';
import { DropboxError } from '../dropbox/dropbox.errors';
import { DropboxConnectionsService } from '../dropbox/dropbox-connections.service';
import { CollaboratorsService } from './collaborators.service';
import {
  DropboxState,
  FieldErrors,
  Fields,
  trackPageModel,
  tracksPageModel,
  tracksQuery,
} from './files-pages.view-models';
import { Library } from './library-items';
import { LibraryService } from './library.service';
import { TracksService } from './tracks.service';
import { UploadsService } from './uploads.service';

/**
 * Gathers what the tracks list and a track's page show (from tracks, library, uploads, collaborators and the
 * Dropbox connection) and hands it to the pure view models. Shared by the page controllers: every form on a
 * track's page answers a refusal with that page again.
 */
@Injectable()
export class TrackPageModels {
  constructor(
    private readonly tracks: TracksService,
    private readonly library: LibraryService,
    private readonly uploads: UploadsService,
    private readonly collaborators: CollaboratorsService,
    private readonly dropbox: DropboxConnectionsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async dropboxState(userId: string): Promise<DropboxState> {
    const status = await this.dropbox.status(userId);
    return {
      dropboxReady: status.connected && status.status === 'active',
      dropboxExpired: status.connected && status.status !== 'active',
    };
  }

  async tracksList(
    user: AuthenticatedUser,
    rawQuery: Record<string, unknown>,
    extra: { form?: Fields; errors?: FieldErrors | null } = {},
  ) {
    const checked = tracksQuery(rawQuery);
    const page = await this.tracks.list(user.id, { ...checked.query, pageSize: 20 });
    const dropbox = await this.dropboxState(user.id);
    return tracksPageModel({ rawQuery, checked, page, dropbox, dropboxRoot: this.config.files.dropboxRoot, ...extra });
  }

  async track(user: AuthenticatedUser, id: string, extra: Record<string, unknown> = {}) {
    // The library first: it 404s for someone else's track, and refreshes the folder's path when it moved.
    let library: Library | null = null;
    let libraryError: string | null = null;
    try {
      library = await this.library.library(user.id, id);
    } catch (err) {
      if (!(err instanceof DropboxError)) throw err;
      libraryError = err.message;
    }
    const track = await this.tracks.get(user.id, id);
    const allCollaborators = await this.collaborators.list(user.id);
    const uploads = await this.uploads.list(user.id, id);
    const dropbox = await this.dropboxState(user.id);
    return trackPageModel({
      track,
      library,
      libraryError,
      allCollaborators,
      uploads,
      dropbox,
      maxUploadBytes: this.config.files.maxUploadBytes,
      extra,
    });
  }

  /** The track's page again, 400, with what a refused form adds (typed values, messages beside the fields). */
  async renderTrack(res: Response, user: AuthenticatedUser, id: string, extra: Record<string, unknown>): Promise<void> {
    res.status(400).render('dashboard/track', await this.track(user, id, extra));
  }
}
