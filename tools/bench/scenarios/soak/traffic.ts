import { randomBytes } from 'node:crypto';
import type { SoakApi } from './api';
import type { SoakWorld } from './world';

export const CALLERS = 8;
const MAX_REQUESTS = 500_000;
/** A new upload this often, and a new pipeline this often (each on its own track with two collaborators). */
const UPLOAD_EVERY_MS = 2_000;
export const PIPELINE_EVERY_MS = 6_000;
const UPLOAD_BYTES = 512 * 1024;

export type Route =
  | 'share page'
  | 'play (redirect)'
  | 'play (relay)'
  | 'download'
  | 'download-all'
  | 'upload'
  | 'pipeline start'
  | 'status';

export interface RouteStats {
  latencies: number[];
  errors: number;
  statuses: Record<string, number>;
}

/**
 * The soak's load: CALLERS callers on the share (page views, plays, downloads, download-all ZIPs), and beside them
 * uploads and collaboration pipelines at a steady pace. Records latency and status per route.
 */
export class SoakTraffic {
  readonly stats = new Map<Route, RouteStats>();
  readonly startedUploads: string[] = [];
  readonly startedPipelines: string[] = [];
  private requests = 0;
  private pick = 0;
  /** Uploads and pipelines sent so far, over every phase (names and tracks are not used twice). */
  private uploadsSent = 0;
  private pipelinesSent = 0;

  constructor(
    private readonly base: string,
    private readonly api: SoakApi,
    private readonly world: SoakWorld,
  ) {}

  /** Forgets what was recorded (after the warm-up); the callers' rotation goes on where it was. */
  reset(): void {
    this.stats.clear();
    this.requests = 0;
  }

  /** Sends traffic for `ms`; with `background`, uploads and pipelines too. */
  async phase(ms: number, background: boolean): Promise<void> {
    const deadline = Date.now() + ms;
    const callers = Array.from({ length: CALLERS }, () => this.caller(deadline));
    if (!background) {
      await Promise.all(callers);
      return;
    }
    // Uploads and pipelines at a steady pace beside the callers, plus their status reads.
    await Promise.all([...callers, this.uploads(deadline), this.pipelines(deadline)]);
  }

  private async caller(deadline: number): Promise<void> {
    const { base } = this;
    const { share } = this.world;
    while (Date.now() < deadline && this.requests < MAX_REQUESTS) {
      this.requests += 1;
      // Of every 40 requests: 16 page views, 12 plays, 11 downloads, 1 download-all ZIP.
      const r = this.pick++ % 40;
      if (r < 16) {
        await this.timed(
          'share page',
          () => fetch(`${base}${share.path}`),
          (s) => s === 200,
        );
      } else if (r < 28) {
        const url = `${base}${share.plays[this.pick % share.plays.length]}`;
        const t0 = performance.now();
        let status = 0;
        try {
          const res = await fetch(url, { redirect: 'manual', headers: { Range: 'bytes=0-65535' } });
          status = res.status;
          await res.arrayBuffer();
        } catch {
          status = 0;
        }
        this.record(
          status === 206 || status === 200 ? 'play (relay)' : 'play (redirect)',
          performance.now() - t0,
          status,
          [200, 206, 302].includes(status),
        );
      } else if (r < 39) {
        await this.timed(
          'download',
          () => fetch(`${base}${share.downloads[this.pick % share.downloads.length]}`, { redirect: 'manual' }),
          (s) => s === 302,
        );
      } else {
        await this.timed(
          'download-all',
          () => fetch(`${base}${share.downloadAll}`),
          (s) => s === 200,
        );
      }
    }
  }

  private async uploads(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      const n = this.uploadsSent++;
      const next = Date.now() + UPLOAD_EVERY_MS;
      const form = new FormData();
      form.append('category', 'bounce');
      form.append('files', new Blob([randomBytes(UPLOAD_BYTES)]), `soak-take-${String(n + 1).padStart(3, '0')}.wav`);
      const t0 = performance.now();
      let status = 0;
      try {
        const res = await fetch(`${this.base}/api/v1/tracks/${this.world.uploadTrackId}/uploads`, {
          method: 'POST',
          headers: this.api.auth,
          body: form,
        });
        status = res.status;
        const body = (await res.json()) as Array<{ id: string }>;
        if (status === 201) this.startedUploads.push(...body.map((u) => u.id));
      } catch {
        status = status || 0;
      }
      this.record('upload', performance.now() - t0, status, status === 201);
      await sleepUntil(Math.min(next, deadline));
    }
  }

  private async pipelines(deadline: number): Promise<void> {
    // Each track once over every phase: a phase goes on with the tracks the one before left.
    while (this.pipelinesSent < this.world.pipelineTracks.length) {
      if (Date.now() >= deadline) break;
      const track = this.world.pipelineTracks[this.pipelinesSent];
      this.pipelinesSent += 1;
      const next = Date.now() + PIPELINE_EVERY_MS;
      const t0 = performance.now();
      const res = await this.api
        .json('POST', `/api/v1/tracks/${track.id}/collaboration`, { files: track.selection })
        .catch(() => ({ status: 0, body: null }));
      this.record('pipeline start', performance.now() - t0, res.status, res.status >= 200 && res.status < 300);
      if (res.status >= 200 && res.status < 300) this.startedPipelines.push(track.id);
      // A status read of each started pipeline, as the panel polls it.
      for (const id of this.startedPipelines.slice(-3)) {
        const s0 = performance.now();
        const st = await this.api.json('GET', `/api/v1/tracks/${id}/collaboration`).catch(() => ({
          status: 0,
          body: null,
        }));
        this.record('status', performance.now() - s0, st.status, st.status === 200);
      }
      await sleepUntil(Math.min(next, deadline));
    }
  }

  private async timed(route: Route, send: () => Promise<Response>, ok: (status: number) => boolean): Promise<void> {
    const t0 = performance.now();
    let status = 0;
    try {
      const res = await send();
      status = res.status;
      // Read the body fully (a relayed stem, a ZIP): the server's work is done only when the client has it.
      await res.arrayBuffer();
    } catch {
      status = 0;
    }
    this.record(route, performance.now() - t0, status, status !== 0 && ok(status));
  }

  private record(route: Route, ms: number, status: number, ok: boolean): void {
    const s = this.stats.get(route) ?? { latencies: [], errors: 0, statuses: {} };
    this.stats.set(route, s);
    s.latencies.push(ms);
    s.statuses[status] = (s.statuses[status] ?? 0) + 1;
    if (!ok) s.errors += 1;
  }
}

function sleepUntil(at: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
}
