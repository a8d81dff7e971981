/** What a share's file routes answer when a file can't be served (each a clear status and message, never a 500). */
import { HttpException, HttpStatus } from '@nestjs/common';

/** The owner's Dropbox no longer accepts us: the page lists, files wait for a reconnect. */
export class DownloadsPausedException extends HttpException {
  constructor() {
    super(
      {
        message: "Playback and downloads are paused: the producer's Dropbox needs attention. Try again later.",
        paused: true,
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

/** The file was deleted or moved out of reach in Dropbox. */
export class FileUnavailableException extends HttpException {
  constructor() {
    super(
      { message: 'This file is no longer available. The producer may have replaced or removed it.', unavailable: true },
      HttpStatus.NOT_FOUND,
    );
  }
}

/** Listen-only audio whose preview is still being built: the player says so and asks again. */
export class PreviewPendingException extends HttpException {
  constructor(reason: string | null) {
    super(
      {
        message: reason
          ? `This track can't be played yet: ${reason}.`
          : 'Preparing the preview… Please try again in a few seconds.',
        preparing: true,
        retryAfterSeconds: PREVIEW_RETRY_SECONDS,
      },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

/** No preview can be made (ffmpeg can't decode the file): listen-only audio has nothing else to play. */
export class PreviewUnavailableException extends HttpException {
  constructor(reason: string) {
    super({ message: `This file can't be played here: ${reason}.`, noPreview: true }, HttpStatus.NOT_FOUND);
  }
}

export const PREVIEW_RETRY_SECONDS = 5;

/** Dropbox lists the file but won't serve it (a cloud document, restricted content, a banned link). */
export class FileUnservableException extends HttpException {
  constructor() {
    super(
      { message: "Dropbox can't serve this file, so it can't be played or downloaded here.", unavailable: true },
      HttpStatus.NOT_FOUND,
    );
  }
}
