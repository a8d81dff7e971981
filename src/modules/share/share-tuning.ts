import { Injectable } from '@nestjs/common';

/**
 * Timings and limits of share links. Production runs these defaults; tests and the benchmark change fields on the
 * app's instance (`app.get(ShareTuning)`), which every reader consults on each request.
 */
@Injectable()
export class ShareTuning {
  /** How long a rendered playlist page is reused. Edits made through shares drop it at once; edits elsewhere
   *  (a track renamed, artwork changed) show up within this time. */
  pageCacheMs = 20_000;
  /** How long a token's access record (status, permissions, expiry) is reused; edits drop it at once. */
  recordCacheMs = 60_000;
  /** How long a file's current Dropbox revision is trusted before play/download asks Dropbox again. This bounds
   *  how long a replaced or deleted file keeps being served from an earlier link. 0: ask every time. */
  revisionCheckMs = 60_000;
  /** How often the counters kept in Redis are added to PostgreSQL. */
  statsFlushMs = 30_000;
  /** Page views per minute per client address (a link pasted into a busy chat is opened many times). */
  pageViewsPerMinute = 300;
  /** Play, download and artwork requests per minute per client address (a player makes several per play). */
  fileRequestsPerMinute = 1_200;
  /** Listen beacons per minute per client address (the player sends one every 10 s while playing, and on pause). */
  listenBeaconsPerMinute = 240;
  /** Comments and requests for more time per minute per client address (people type; scripts flood). */
  commentsPerMinute = 10;
  /** Comments one share takes per hour, whatever the addresses (a ceiling for spam spread over many of them). */
  commentsPerSharePerHour = 300;
  /** How often expiring links are looked for (the producer hears of each 3 days ahead, once). */
  expirySweepMs = 15 * 60_000;
  /** Password attempts per client address per five minutes. */
  unlockAttemptsPer5Min = 10;
  /** Password attempts per share per five minutes, whatever the addresses: guesses spread over many addresses
   *  (or forged ones) still meet a ceiling. Recipients who know the password rarely need more than a few. */
  unlockAttemptsPerSharePer5Min = 30;
  /** ZIPs (download-all, packages) one share may have in the making at once, over every process. */
  zipsPerShare = 3;
  /** ZIPs one process builds at once, whatever the shares: each holds a download stream and archive buffers. */
  zipsPerProcess = 8;
}
