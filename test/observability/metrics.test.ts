// Prometheus metrics on the debug listener, scraped after a real push and pull over HTTP: request counters by
// endpoint id, method and status, bytes in and out, storage call latency, GC counters, process metrics; and
// labels that never carry a repository name.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { pino } from 'pino';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import { removeDir, tempDir } from '../helpers/processes.js';
import { closeRegistry, pushBlob, pushImage, startUpload, uniqueName, sha256 } from '../http/helpers.js';
import { loadConfig } from '../../src/config/load.js';
import { startRegistry } from '../../src/server.js';
import { scrape, sumOf, parseMetrics } from './helpers.js';

describe('metrics on the debug listener', () => {
  let reg: TestRegistry;
  let debugURL: string;
  before(async () => {
    reg = await startTestRegistry({ debugListen: '127.0.0.1:0' });
    assert.ok(reg.running.debugURL, 'the registry reports the debug listener it opened');
    debugURL = reg.running.debugURL!;
  });
  after(async () => closeRegistry(reg));

  test('a push and a pull show up in the request counters, bytes and storage latency', async () => {
    const before = await scrape(debugURL);
    const layer = randomBytes(256 * 1024);
    const name = uniqueName('metrics');
    const image = await pushImage(reg.url, name, { tag: 'v1', layers: [layer] });

    const manifest = await fetch(new URL(`/v2/${name}/manifests/v1`, reg.url), { headers: { accept: image.mediaType } });
    assert.equal(manifest.status, 200);
    await manifest.arrayBuffer();
    const blob = await fetch(new URL(`/v2/${name}/blobs/${sha256(layer)}`, reg.url));
    assert.equal(blob.status, 200);
    assert.equal(Buffer.from(await blob.arrayBuffer()).length, layer.length);
    const missing = await fetch(new URL(`/v2/${name}/manifests/absent`, reg.url));
    assert.equal(missing.status, 404);
    await missing.arrayBuffer();

    const after = await scrape(debugURL);
    const delta = (metric: string, labels: Record<string, string> = {}) => sumOf(after, metric, labels) - sumOf(before, metric, labels);
    assert.equal(delta('wharf_http_requests_total', { endpoint: 'manifest', method: 'PUT', status: '201' }), 1);
    assert.equal(delta('wharf_http_requests_total', { endpoint: 'manifest', method: 'GET', status: '200' }), 1);
    assert.equal(delta('wharf_http_requests_total', { endpoint: 'manifest', method: 'GET', status: '404' }), 1);
    assert.equal(delta('wharf_http_requests_total', { endpoint: 'blob', method: 'GET', status: '200' }), 1);
    // Two blobs (config and layer), each POST then PUT.
    assert.equal(delta('wharf_http_requests_total', { endpoint: 'uploadStart', method: 'POST', status: '202' }), 2);
    assert.equal(delta('wharf_http_requests_total', { endpoint: 'upload', method: 'PUT', status: '201' }), 2);
    assert.equal(delta('wharf_http_request_duration_seconds_count', { endpoint: 'manifest', method: 'GET' }), 2);

    const received = delta('wharf_http_received_bytes_total', { endpoint: 'upload' });
    assert.ok(received >= layer.length, `bytes received on upload (${received}) cover the layer (${layer.length})`);
    const sent = delta('wharf_http_sent_bytes_total', { endpoint: 'blob' });
    assert.ok(sent >= layer.length, `bytes sent on blob (${sent}) cover the layer (${layer.length})`);
    assert.ok(sent < layer.length + 4096, `bytes sent on blob (${sent}) are the layer and one response head`);

    assert.equal(sumOf(after, 'wharf_uploads_in_progress'), 0);
    // One request in flight: the scrape itself is on the other listener, so none here.
    assert.equal(sumOf(after, 'wharf_http_requests_in_flight'), 0);
    assert.ok(delta('wharf_storage_operation_duration_seconds_count', { driver: 'filesystem' }) > 0, 'storage calls are timed');
    assert.ok(delta('wharf_storage_operation_duration_seconds_count', { driver: 'filesystem', operation: 'reader' }) >= 1, 'the blob read is timed');

    assert.ok(delta('wharf_metadata_operation_duration_seconds_count', { operation: 'putManifest' }) >= 1, 'metadata calls are timed by method');
    assert.ok(delta('wharf_metadata_operation_duration_seconds_count') >= 4, 'every metadata call of the push and pull is timed');

    for (const s of after) {
      for (const v of Object.values(s.labels)) assert.ok(!v.includes(name), `no label carries the repository name (${s.name} ${JSON.stringify(s.labels)})`);
    }
  });

  test('an upload streaming its body counts as in progress until it ends', async () => {
    const name = uniqueName('inprogress');
    const location = await startUpload(reg.url, name);
    const req = httpRequest(location, { method: 'PATCH', headers: { 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } });
    const answered = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.write(randomBytes(1024));
    let samples = await scrape(debugURL);
    for (let i = 0; i < 100 && sumOf(samples, 'wharf_uploads_in_progress') === 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      samples = await scrape(debugURL);
    }
    assert.equal(sumOf(samples, 'wharf_uploads_in_progress'), 1);
    assert.equal(sumOf(samples, 'wharf_http_requests_in_flight'), 1);
    req.end(randomBytes(1024));
    assert.equal(await answered, 202);
    samples = await scrape(debugURL);
    for (let i = 0; i < 100 && sumOf(samples, 'wharf_uploads_in_progress') !== 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
      samples = await scrape(debugURL);
    }
    assert.equal(sumOf(samples, 'wharf_uploads_in_progress'), 0);
  });

  test('storage errors are counted by operation and kind; /readyz is counted as readyz', async () => {
    const before = await scrape(debugURL);
    await assert.rejects(reg.running.registry.storage.stat('sha256/00/absent'), (e: Error) => e.message.includes('not found'));
    const res = await fetch(new URL('/readyz', reg.url));
    assert.equal(res.status, 200);
    await res.arrayBuffer();
    const after = await scrape(debugURL);
    const labels = { driver: 'filesystem', operation: 'stat', kind: 'not-found' };
    assert.ok(sumOf(after, 'wharf_storage_operation_errors_total', labels) - sumOf(before, 'wharf_storage_operation_errors_total', labels) >= 1, 'the failed stat is counted as not-found');
    assert.equal(sumOf(after, 'wharf_http_requests_total', { endpoint: 'readyz', method: 'GET', status: '200' }) - sumOf(before, 'wharf_http_requests_total', { endpoint: 'readyz', method: 'GET', status: '200' }), 1);
  });

  test('unknown paths are labelled "unknown", never by their path', async () => {
    const res = await fetch(new URL('/no/such/path/abc123', reg.url));
    assert.equal(res.status, 404);
    await res.arrayBuffer();
    const samples = await scrape(debugURL);
    assert.ok(sumOf(samples, 'wharf_http_requests_total', { endpoint: 'unknown', status: '404' }) >= 1, 'the request is counted under endpoint="unknown"');
    assert.ok(!samples.some((s) => Object.values(s.labels).some((v) => v.includes('abc123'))), 'the raw path is in no label');
  });

  test('endpoints outside the table have their own ids: the change feed, discovery, health', async () => {
    const before = await scrape(debugURL);
    for (const path of ['/v2/_wharf/events', '/v2/_oci/ext/discover', '/healthz']) await (await fetch(new URL(path, reg.url))).arrayBuffer();
    const after = await scrape(debugURL);
    for (const endpoint of ['events', 'discover', 'healthz']) {
      const d = sumOf(after, 'wharf_http_requests_total', { endpoint, method: 'GET' }) - sumOf(before, 'wharf_http_requests_total', { endpoint, method: 'GET' });
      assert.equal(d, 1, `one request counted under endpoint="${endpoint}"`);
    }
  });

  test('GC runs reported through metrics.gcRun are exported', async () => {
    reg.running.metrics.gcRun({ bytes: 1000, blobs: 3, ms: 1500 });
    reg.running.metrics.gcRun({ bytes: 24, blobs: 1, ms: 10, failed: true });
    const samples = await scrape(debugURL);
    assert.equal(sumOf(samples, 'wharf_gc_runs_total', { result: 'ok' }), 1);
    assert.equal(sumOf(samples, 'wharf_gc_runs_total', { result: 'failed' }), 1);
    assert.equal(sumOf(samples, 'wharf_gc_reclaimed_bytes_total'), 1024);
    assert.equal(sumOf(samples, 'wharf_gc_deleted_blobs_total'), 4);
    assert.equal(sumOf(samples, 'wharf_gc_duration_seconds_count'), 2);
    assert.ok(sumOf(samples, 'wharf_gc_last_run_timestamp_seconds') > 1.7e9, 'the last run time is a Unix time');
  });

  test('process metrics are exported with the wharf_ prefix', async () => {
    const samples = await scrape(debugURL);
    assert.ok(samples.some((s) => s.name === 'wharf_process_resident_memory_bytes'), 'resident memory is exported');
    assert.ok(samples.some((s) => s.name === 'wharf_nodejs_eventloop_lag_seconds'), 'event loop lag is exported');
    assert.ok(samples.every((s) => s.name.startsWith('wharf_')), 'every metric name starts with wharf_');
  });

  test('the debug listener answers /metrics with the text format, and 404 elsewhere', async () => {
    const res = await fetch(new URL('/metrics', debugURL));
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    assert.ok(parseMetrics(await res.text()).length > 0, 'samples are present');
    const other = await fetch(new URL('/v2/', debugURL));
    assert.equal(other.status, 404);
    await other.arrayBuffer();
    const post = await fetch(new URL('/metrics', debugURL), { method: 'POST' });
    assert.equal(post.status, 405);
    await post.arrayBuffer();
  });

  test('/metrics is not served on the main listener', async () => {
    const res = await fetch(new URL('/metrics', reg.url));
    assert.equal(res.status, 404);
    const text = await res.text();
    assert.ok(!text.includes('wharf_http_requests_total'), 'the main listener does not expose metrics');
  });
});

describe('metrics of two servers in one process', () => {
  test('each server counts only its own requests', async () => {
    const a = await startTestRegistry({ debugListen: '127.0.0.1:0' });
    const b = await startTestRegistry({ debugListen: '127.0.0.1:0' });
    try {
      for (let i = 0; i < 3; i++) await (await fetch(new URL('/v2/', a.url))).arrayBuffer();
      const sa = await scrape(a.running.debugURL!);
      const sb = await scrape(b.running.debugURL!);
      assert.equal(sumOf(sa, 'wharf_http_requests_total', { endpoint: 'base' }), 3);
      assert.equal(sumOf(sb, 'wharf_http_requests_total', { endpoint: 'base' }), 0);
    } finally {
      await closeRegistry(a);
      await closeRegistry(b);
    }
  });
});

describe('garbage collection in serve reports to the metrics', () => {
  test('a scheduled pass that deletes an unreferenced blob counts a run and its bytes', async () => {
    const dir = tempDir('wharf-gc-metrics-');
    const configPath = join(dir, 'wharf.yaml');
    // A pass every 300 ms, collecting anything unreferenced at once.
    writeFileSync(configPath, JSON.stringify({ data: './data', gc: { intervalMinutes: 0.005, grace: '0' }, debug: { listen: '127.0.0.1:0' } }));
    const running = await startRegistry(loadConfig({ config: configPath, listen: '127.0.0.1:0' }, {}), pino({ level: 'silent' }));
    try {
      const blob = randomBytes(4096);
      await pushBlob(running.url, uniqueName('gc'), blob);
      let samples = await scrape(running.debugURL!);
      const deadline = Date.now() + 20_000;
      for (let i = 0; i < 200 && sumOf(samples, 'wharf_gc_reclaimed_bytes_total') < blob.length && Date.now() < deadline; i++) {
        await new Promise((r) => setTimeout(r, 100));
        samples = await scrape(running.debugURL!);
      }
      assert.ok(sumOf(samples, 'wharf_gc_reclaimed_bytes_total') >= blob.length, `the pass reclaimed the blob (${sumOf(samples, 'wharf_gc_reclaimed_bytes_total')} bytes)`);
      assert.ok(sumOf(samples, 'wharf_gc_runs_total', { result: 'ok' }) >= 1, 'the run is counted');
      assert.ok(sumOf(samples, 'wharf_gc_deleted_blobs_total') >= 1, 'the blob is counted');
      assert.equal(sumOf(samples, 'wharf_gc_runs_total', { result: 'failed' }), 0);
    } finally {
      await running.close();
      removeDir(dir);
    }
  });
});
