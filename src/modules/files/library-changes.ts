import { Injectable, Logger } from '@nestjs/common';

/** What changed in tracks' libraries: files added, replaced by a new revision, moved between categories or forgotten. */
export interface LibraryChange {
  trackIds: string[];
}

export type LibraryChangeListener = (change: LibraryChange) => Promise<void>;

/**
 * Tells the modules built on files (share links) that a library changed, without the files module knowing them:
 * they subscribe at start-up. Called after the change is committed; a listener's failure is logged and never undoes
 * or fails the change itself (share pages also expire on their own, within seconds).
 */
@Injectable()
export class LibraryChanges {
  private readonly logger = new Logger(LibraryChanges.name);
  private readonly listeners: LibraryChangeListener[] = [];

  subscribe(listener: LibraryChangeListener): void {
    this.listeners.push(listener);
  }

  async changed(trackIds: string[]): Promise<void> {
    const unique = [...new Set(trackIds)];
    if (unique.length === 0) return;
    for (const listener of this.listeners) {
      try {
        await listener({ trackIds: unique });
      } catch (err) {
        this.logger.warn({ error: (err as Error).message, trackIds: unique }, 'a library change listener failed');
      }
    }
  }
}
