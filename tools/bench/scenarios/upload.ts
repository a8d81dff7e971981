import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { DropboxContentHasher } from '../../dropbox-emulator/content-hash';
import type { DropboxEntry } from '../../../src/modules/dropbox/dropbox.types';
import { fileUploadSource } from '../../../src/modules/dropbox/file-upload-source';
import { BenchContext, MB, median, MiB, round, say, Scenario, ScenarioResult } from '../harness';
import { collectGarbage, measure, Measured, MemoryPeaks } from '../memory';

const FULL_SIZE_MIB = 2048;
const QUICK_SIZE_MIB = 256;
const PATTERN_MIB = 16;
const RSS_TARGET_MB = 250;
const RATIO_TARGET = 0.7;

/**
 * A file of `size` bytes: a random pattern repeated, every 4 MiB block stamped with its index so no two blocks
 * are alike. Returns its Dropbox content_hash, computed by the emulator's own hasher (not the gateway's).
 */
async function generateFile(path: string, size: number): Promise<string> {
  const pattern = randomBytes(PATTERN_MIB * MiB);
  const hasher = new DropboxContentHasher();
  const file = await open(path, 'w');
  try {
    let written = 0;
    while (written < size) {
      const piece = pattern.subarray(0, Math.min(pattern.length, size - written));
      for (let block = 0; block * 4 * MiB < piece.length; block += 1) {
        piece.writeUInt32BE(((written + block * 4 * MiB) / (4 * MiB)) >>> 0, block * 4 * MiB);
      }
      hasher.update(piece);
      await file.write(piece);
      written += piece.length;
    }
  } finally {
    await file.close();
  }
  return hasher.digest();
}

/** The baseline: one plain streamed HTTP PUT of the file to the emulator's sink (disk write + hash, no API). */
function putToSink(emulatorUrl: string, path: string, size: number): Promise<{ bytes: number; content_hash: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${emulatorUrl}/_emulator/sink`, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': size },
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`sink answered ${res.statusCode}: ${text}`));
        resolve(JSON.parse(text) as { bytes: number; content_hash: string });
      });
      res.on('error', reject);
    });
    const source = createReadStream(path);
    source.on('error', (err) => req.destroy(err));
    source.pipe(req);
  });
}

function memoryDetails(memory: MemoryPeaks) {
  const mb = (bytes: number) => round(bytes / MB, 1);
  return {
    peakRssMB: mb(memory.peakRss),
    sampledPeakRssMB: mb(memory.sampledPeakRss),
    kernelPeakRssMB: memory.kernelPeakRss === undefined ? null : mb(memory.kernelPeakRss),
    startRssMB: mb(memory.startRss),
    peakHeapUsedMB: mb(memory.peakHeapUsed),
    peakExternalMB: mb(memory.peakExternal),
    peakArrayBuffersMB: mb(memory.peakArrayBuffers),
    childrenPeakRssMB: Object.fromEntries(Object.entries(memory.children).map(([k, v]) => [k, mb(v)])),
    samples: memory.samples,
  };
}

export const uploadScenario: Scenario = {
  name: 'upload',
  description: 'a large file through DropboxAccountClient.upload (upload session) vs a plain streamed PUT',
  async run(ctx: BenchContext): Promise<ScenarioResult> {
    const sizeMiB = ctx.options.sizeMiB ?? (ctx.options.quick ? QUICK_SIZE_MIB : FULL_SIZE_MIB);
    const size = sizeMiB * MiB;
    const path = join(ctx.tmpDir, `upload-${sizeMiB}MiB.bin`);

    say(`upload: generating a ${sizeMiB} MiB file in ${ctx.tmpDir}…`);
    const expectedHash = await generateFile(path, size);
    ctx.onClose('upload source file', () => rm(path, { force: true }));
    if ((await stat(path)).size !== size) throw new Error(`generated ${path} has the wrong size`);

    const [producer, emulator, config] = await Promise.all([ctx.producer(), ctx.emulator(), ctx.config()]);
    const children = { emulator: emulator.pid };
    const chunkBytes = config.dropbox.uploadChunkBytes;

    const rounds = ctx.options.rounds ?? 1;
    const baselineRuns: Array<Measured<{ bytes: number; content_hash: string }> & { mbps: number }> = [];
    const gatewayRuns: Array<Measured<DropboxEntry> & { mbps: number; calls: Record<string, number> }> = [];

    const baseline = async () => {
      const n = baselineRuns.length + 1;
      collectGarbage();
      say(`upload: baseline ${n}/${rounds + 1}: streamed PUT of ${sizeMiB} MiB to ${emulator.url}/_emulator/sink…`);
      const run = await measure(
        () => putToSink(emulator.url, path, size),
        children,
        ctx.profilePath('upload', `baseline-${n}`),
      );
      if (run.result.bytes !== size) throw new Error(`the sink received ${run.result.bytes} of ${size} bytes`);
      if (run.result.content_hash !== expectedHash) throw new Error('the sink received different bytes (content hash)');
      const mbps = size / MB / (run.ms / 1000);
      say(`upload: baseline ${n}/${rounds + 1}: ${round(mbps)} MB/s`);
      baselineRuns.push({ ...run, mbps });
    };

    const gateway = async () => {
      const n = gatewayRuns.length + 1;
      collectGarbage();
      say(`upload: gateway ${n}/${rounds}: client.upload of ${sizeMiB} MiB in ${chunkBytes / MiB} MiB chunks…`);
      await emulator.resetCounters();
      const run = await measure(
        () =>
          producer.client.upload(
            `/Bench/upload-${n}-${Date.now()}.bin`,
            // What the app's uploads pass (files/uploads.service.ts): the spooled file, read at positions.
            fileUploadSource(path, size),
            {},
          ),
        children,
        ctx.profilePath('upload', `gateway-${n}`),
      );
      const calls = (await emulator.counters()).callsByRoute;
      const mbps = size / MB / (run.ms / 1000);
      say(`upload: gateway ${n}/${rounds}: ${round(mbps)} MB/s`);
      gatewayRuns.push({ ...run, mbps, calls });
    };

    // Alternated, so a slow spell of the machine hits both sides: (gateway, baseline) × rounds, baseline. The gateway
    // goes first: a plain stream's PUT leaves the process's RSS well above where it started (its garbage is collected,
    // but the pages stay with the process), and the first gateway run must start from the app at rest.
    for (let r = 0; r < rounds; r += 1) {
      await gateway();
      await baseline();
    }
    await baseline();

    const baselineMbps = median(baselineRuns.map((b) => b.mbps));
    const gatewayMbps = median(gatewayRuns.map((g) => g.mbps));
    const ratio = gatewayMbps / baselineMbps;
    // The peak is the first run's (the later ones start from what a baseline left); the growth is the worst run's.
    const first = gatewayRuns[0];
    const worst = gatewayRuns.reduce((a, b) =>
      b.memory.peakRss - b.memory.startRss > a.memory.peakRss - a.memory.startRss ? b : a,
    );
    const entries = gatewayRuns.map((g) => g.result);
    const sizesMatch = entries.every((e) => e.size === size);
    const hashesMatch = entries.every((e) => e.contentHash === expectedHash);
    const list = (values: number[]) => values.map((v) => round(v)).join(', ');
    const perGiB = (value: number) => round(value / (size / 2 ** 30), 1);
    const medianOf = (pick: (run: Measured<unknown>) => number, runs: Array<Measured<unknown>>) =>
      median(runs.map(pick));

    return {
      figures: [
        {
          key: 'upload.peak_rss_mb',
          label: 'peak RSS of the bench process during the upload',
          value: round(first.memory.peakRss / MB),
          unit: 'MB',
          target: { op: '<', value: RSS_TARGET_MB },
          note: `before: ${round(first.memory.startRss / MB)} MB (the app at rest, before the first upload)`,
        },
        {
          key: 'upload.rss_growth_mb',
          label: 'RSS growth during the upload (peak − before)',
          value: round((worst.memory.peakRss - worst.memory.startRss) / MB),
          unit: 'MB',
          note: `peak ArrayBuffers ${round(worst.memory.peakArrayBuffers / MB)} MB, heap ${round(worst.memory.peakHeapUsed / MB)} MB`,
        },
        {
          key: 'upload.gateway_mbps',
          label: `gateway upload (${sizeMiB} MiB, ${chunkBytes / MiB} MiB chunks)${rounds > 1 ? `, median of ${rounds}` : ''}`,
          value: round(gatewayMbps),
          unit: 'MB/s',
          note: `runs: ${list(gatewayRuns.map((g) => g.mbps))} MB/s; ${list(gatewayRuns.map((g) => g.ms / 1000))} s`,
        },
        {
          key: 'upload.baseline_mbps',
          label: `baseline: streamed PUT to /_emulator/sink, median of ${baselineRuns.length}`,
          value: round(baselineMbps),
          unit: 'MB/s',
          note: `runs: ${list(baselineRuns.map((b) => b.mbps))} MB/s`,
        },
        {
          key: 'upload.ratio',
          label: 'gateway / baseline throughput',
          value: round(ratio, 2),
          target: { op: '>=', value: RATIO_TARGET },
        },
        {
          key: 'upload.gateway_cpu_s_per_gib',
          label: 'bench-process CPU per GiB: gateway vs baseline',
          value: perGiB(medianOf((g) => g.cpu.bench, gatewayRuns)),
          unit: 's',
          note: `baseline ${perGiB(medianOf((b) => b.cpu.bench, baselineRuns))} s; emulator ${perGiB(
            medianOf((g) => g.cpu.emulator ?? NaN, gatewayRuns),
          )} vs ${perGiB(medianOf((b) => b.cpu.emulator ?? NaN, baselineRuns))} s`,
        },
        {
          key: 'upload.gateway_major_gcs',
          label: 'mark-compact GCs in the bench process: gateway vs baseline',
          value: medianOf((g) => g.gc.byKind.major?.count ?? 0, gatewayRuns),
          note: `baseline ${medianOf((b) => b.gc.byKind.major?.count ?? 0, baselineRuns)}; GC pauses ${round(
            medianOf((g) => g.gc.ms, gatewayRuns),
          )} vs ${round(medianOf((b) => b.gc.ms, baselineRuns))} ms`,
        },
        {
          key: 'upload.size_matches',
          label: `stored size = ${size.toLocaleString('en-US')} bytes`,
          value: sizesMatch,
          target: { op: '==', value: true },
          note: `stored ${entries.map((e) => e.size ?? '?').join(', ')} bytes`,
        },
        {
          key: 'upload.content_hash_matches',
          label: 'content_hash matches the source file',
          value: hashesMatch,
          target: { op: '==', value: true },
          note: `${expectedHash.slice(0, 16)}…`,
        },
      ],
      details: {
        sizeBytes: size,
        chunkBytes,
        rounds,
        expectedContentHash: expectedHash,
        gateway: gatewayRuns.map((g) => ({
          path: g.result.pathDisplay,
          storedContentHash: g.result.contentHash,
          storedSize: g.result.size,
          ms: round(g.ms),
          mbps: round(g.mbps),
          cpuSeconds: g.cpu,
          gc: g.gc,
          memory: memoryDetails(g.memory),
          dropboxCalls: g.calls,
        })),
        baselines: baselineRuns.map((b) => ({
          ms: round(b.ms),
          mbps: round(b.mbps),
          cpuSeconds: b.cpu,
          gc: b.gc,
          memory: memoryDetails(b.memory),
        })),
      },
    };
  },
};
