import { Injectable } from '@nestjs/common';

/** The time, for everything about expiry; a provider so tests can move it days ahead without waiting. */
@Injectable()
export class ShareClock {
  now(): Date {
    return new Date();
  }
}
