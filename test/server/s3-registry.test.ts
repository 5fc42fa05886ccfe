// The whole registry on S3 (a real Ceph RGW): skopeo pushes and pulls a multi-layer image digest-identically,
// and a 1 GiB blob goes in by chunked upload (segments joined server-side) and out again with Wharf's RSS flat.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { S3Client, CreateBucketCommand, ListObjectsV2Command, ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { spawnWharf, tempDir, removeDir, type SpawnedRegistry } from '../helpers/processes.js';
import { sharedRgw, rgwClient, type RgwService } from '../helpers/services.js';
import { buildMultiLayerImage, type LayoutImage } from '../interop/images.js';
import { Skopeo, dockerRef, ociRef } from '../interop/skopeo.js';
import { assertSameBlobs } from '../interop/assertions.js';
import { requireTools } from '../interop/run.js';
import { describeBlob, pullAndCheck, pushChunked } from './blob-stream.js';
import { PushClient } from './push-client.js';
import { RssSampler, mib, procStatusBytes, resetPeakRss } from './rss-sampler.js';

const MiB = 1024 * 1024;
const blobBytes = Number(process.env.WHARF_MEMORY_BLOB_MIB ?? 1024) * MiB;
const allowedGrowth = 150 * MiB;
const bucket = `wharf-registry-${process.pid}`;

describe('the registry on S3 (Ceph RGW)', () => {
  const work = tempDir('wharf-s3-registry-');
  let rgw: RgwService;
  let s3: S3Client;
  let wharf: SpawnedRegistry | undefined;
  let image: LayoutImage;
  let skopeo: Skopeo;

  /** Wharf on the bucket; `extra` adds storage URL parameters (e.g. redirects). */
  function startWharf(extra: string): Promise<SpawnedRegistry> {
    const storage = `s3://${bucket}/registry?endpoint=${encodeURIComponent(rgw.endpoint)}&region=${rgw.region}&forcePathStyle=true&partSize=8MiB&copyPartSize=64MiB${extra}`;
    return spawnWharf({
      data: join(work, 'data'),
      args: ['--storage', storage],
      env: { AWS_ACCESS_KEY_ID: rgw.accessKeyId, AWS_SECRET_ACCESS_KEY: rgw.secretAccessKey },
    });
  }

  before(async () => {
    requireTools('skopeo', 'umoci');
    rgw = await sharedRgw();
    s3 = rgwClient(rgw);
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    wharf = await startWharf('');
    skopeo = new Skopeo(join(work, 'skopeo'));
    image = await buildMultiLayerImage(join(work, 'image'));
  }, { timeout: 240_000 });

  after(async () => {
    await wharf?.stop();
    s3?.destroy();
    removeDir(work);
  });

  test('skopeo push and pull of a multi-layer image are digest-identical', { timeout: 120_000 }, async () => {
    const ref = dockerRef(wharf!.host, 's3/image', 'v1');
    assert.equal(await skopeo.copy(ociRef(image.layout, image.ref), ref, ['--preserve-digests']), image.descriptor.digest);
    const out = join(work, 'pulled');
    assert.equal(await skopeo.copy(ref, ociRef(out, 'v1'), ['--preserve-digests']), image.descriptor.digest);
    assertSameBlobs(image.layout, out, image.descriptor);
    const objects = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'registry/sha256/' }));
    assert.ok((objects.KeyCount ?? 0) >= 4, 'config and layers are objects in the bucket');
  });

  test(`a ${mib(blobBytes)} chunked upload and its download keep the server's RSS flat`, { timeout: 300_000 }, async (t) => {
    const client = new PushClient(wharf!.url, 120_000);
    const warm = describeBlob('s3/big', 's3/warm-up', 24 * MiB);
    await pushChunked(client, warm, 8 * MiB);
    await pullAndCheck(client, warm, 120_000);
    await new Promise((r) => setTimeout(r, 500));
    const baseline = procStatusBytes(wharf!.pid, 'VmRSS');
    const peakResettable = resetPeakRss(wharf!.pid);
    const sampler = new RssSampler(wharf!.pid, 100);
    const big = describeBlob('s3/big', 's3/one-gib', blobBytes);
    sampler.start();
    try {
      sampler.enter('chunked push');
      await pushChunked(client, big, 64 * MiB);
      sampler.enter('pull');
      await pullAndCheck(client, big, 120_000);
    } finally {
      sampler.stop();
    }
    const kernelPeak = peakResettable ? procStatusBytes(wharf!.pid, 'VmHWM') : 0;
    const growth = Math.max(sampler.peak(), kernelPeak) - baseline;
    for (const line of sampler.report()) t.diagnostic(line);
    t.diagnostic(`baseline ${mib(baseline)}, growth ${mib(growth)}`);
    assert.ok(growth < allowedGrowth, `RSS grew by ${mib(growth)} over ${mib(baseline)} while streaming ${mib(blobBytes)} through S3 (allowed ${mib(allowedGrowth)})`);
    const pending = await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    assert.equal(pending.Uploads?.length ?? 0, 0, 'no multipart upload is left behind');
    const segments = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'registry/_uploads/' }));
    assert.equal(segments.KeyCount ?? 0, 0, 'upload segments are removed once the blob is complete');
  });

  test('with redirects on, blob GETs answer 307 to a presigned URL; HEAD and ranged GETs do not redirect', { timeout: 60_000 }, async () => {
    const data = Buffer.from('bytes served straight from the bucket');
    const digest = `sha256:${createHash('sha256').update(data).digest('hex')}`;
    const push = await fetch(`${wharf!.url}/v2/s3/redirect/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data });
    assert.equal(push.status, 201);
    await wharf!.stop();
    wharf = await startWharf('&redirect=true&redirectExpires=60');
    const blobURL = `${wharf.url}/v2/s3/redirect/blobs/${digest}`;
    const get = await fetch(blobURL, { redirect: 'manual' });
    assert.equal(get.status, 307);
    const location = get.headers.get('location') ?? '';
    assert.ok(location.startsWith(rgw.endpoint), `redirected to the bucket: ${location}`);
    const direct = await fetch(location);
    assert.equal(direct.status, 200);
    assert.deepEqual(Buffer.from(await direct.arrayBuffer()), data);
    const head = await fetch(blobURL, { method: 'HEAD', redirect: 'manual' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(data.length));
    const ranged = await fetch(blobURL, { headers: { Range: 'bytes=0-4' }, redirect: 'manual' });
    assert.equal(ranged.status, 206);
    assert.equal(await ranged.text(), 'bytes');
  });
});
