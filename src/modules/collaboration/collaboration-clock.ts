import { Injectable } from '@nestjs/common';

/** The time, for everything about a collaborator share's end; a provider so tests can move it days ahead. */
@Injectable()
export class CollaborationClock {
  now(): Date {
    return new Date();
  }
}
