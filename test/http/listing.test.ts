// GET /v2/<name>/tags/list and GET /v2/_catalog: content, lexical (byte) order, n/last pagination with Link,
// and the error cases.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestRegistry, type TestRegistry } from '../helpers/registry.js';
import {
  MT,
  call,
  closeRegistry,
  expectError,
  expectStatus,
  getJSON,
  pushBlob,
  pushImage,
  pushManifest,
  randomData,
  uniqueName,
  type PushedImage,
} from './helpers.js';

interface TagList {
  name: string;
  tags: string[];
}

interface Catalog {
  repositories: string[];
}

/** Byte order (what Go's sort.Strings gives and the spec's "lexical" means for ASCII). */
function byteSort(values: string[]): string[] {
  return [...values].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Parses `Link: <url>; rel="next"`; undefined when absent. */
function nextLink(res: Response, base: string): URL | undefined {
  const link = res.headers.get('link');
  if (link === null) return undefined;
  const m = /^\s*<([^>]+)>\s*;\s*rel="?next"?\s*$/.exec(link);
  assert.ok(m, `Link header ${link} should be <url>; rel="next"`);
  return new URL(m[1]!, base);
}

describe('tags', () => {
  let reg: TestRegistry;
  let base: string;
  const name = uniqueName('tags');
  // Mixed case, digits, underscores, periods and dashes: byte order differs from case-insensitive order.
  const tags = ['latest', 'B', 'a', 'A', 'b', '1', '10', '2', '_x', 'a.b', 'a-b', 'a_b', 'Z9', 'z', 'v1.0.0', 'v1.0.0-rc1', 'v1.10.0', 'v1.9.0'];
  const sorted = byteSort(tags);
  let image: PushedImage;

  before(async () => {
    reg = await startTestRegistry();
    base = reg.url;
    image = await pushImage(base, name);
    for (const t of tags) await pushManifest(base, name, t, image.body, MT.ociManifest);
  });

  after(async () => {
    await closeRegistry(reg);
  });

  test('200 {name, tags} with every tag in byte order, as JSON', async () => {
    const { res, body } = await getJSON<TagList>(base, `/v2/${name}/tags/list`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(body.name, name);
    assert.deepEqual(body.tags, sorted);
    assert.equal(res.headers.get('link'), null, 'no Link when everything was returned');
  });

  test('n larger than or equal to the count → every tag, no Link', async () => {
    for (const n of [tags.length, tags.length + 1, 1000]) {
      const { res, body } = await getJSON<TagList>(base, `/v2/${name}/tags/list?n=${n}`);
      assert.deepEqual(body.tags, sorted, `n=${n}`);
      assert.equal(res.headers.get('link'), null, `n=${n}: no Link when nothing remains`);
    }
  });

  test('n smaller than the count → exactly n tags and a Link to the next page', async () => {
    const { res, body } = await getJSON<TagList>(base, `/v2/${name}/tags/list?n=3`);
    assert.deepEqual(body.tags, sorted.slice(0, 3));
    const link = res.headers.get('link');
    assert.ok(link, 'Link header when more tags remain');
    const next = nextLink(res, base)!;
    assert.equal(next.pathname, `/v2/${name}/tags/list`);
    assert.equal(next.searchParams.get('n'), '3');
    assert.equal(next.searchParams.get('last'), sorted[2]);
  });

  test('the Link has the documented form </v2/<name>/tags/list?n=N&last=X>; rel="next"', async () => {
    // 'B' is sorted[1]: no character of the tag alphabet needs escaping here.
    const { res } = await getJSON<TagList>(base, `/v2/${name}/tags/list?n=2`);
    assert.equal(res.headers.get('link'), `</v2/${name}/tags/list?n=2&last=${sorted[1]}>; rel="next"`);
  });

  test('following Link pages through every tag exactly once, in order', async () => {
    for (const n of [1, 2, 5, tags.length - 1]) {
      const seen: string[] = [];
      let url: URL | undefined = new URL(`/v2/${name}/tags/list?n=${n}`, base);
      let pages = 0;
      while (url) {
        const { res, body }: { res: Response; body: TagList } = await getJSON<TagList>(base, url);
        assert.equal(body.name, name);
        assert.ok(body.tags.length <= n, `page of at most ${n}`);
        if (res.headers.get('link') !== null) assert.equal(body.tags.length, n, 'a page followed by another page is full');
        seen.push(...body.tags);
        url = nextLink(res, base);
        pages += 1;
        assert.ok(pages <= tags.length + 1, 'pagination terminates');
      }
      assert.deepEqual(seen, sorted, `n=${n}`);
    }
  });

  test('last → the tags after it (exclusive); n is optional', async () => {
    const { body } = await getJSON<TagList>(base, `/v2/${name}/tags/list?last=${encodeURIComponent(sorted[4]!)}`);
    assert.deepEqual(body.tags, sorted.slice(5));
    const { body: two } = await getJSON<TagList>(base, `/v2/${name}/tags/list?n=2&last=${encodeURIComponent(sorted[4]!)}`);
    assert.deepEqual(two.tags, sorted.slice(5, 7));
  });

  test('last that is not a tag → the tags that sort after it', async () => {
    const { body } = await getJSON<TagList>(base, `/v2/${name}/tags/list?last=a0`);
    assert.deepEqual(body.tags, sorted.filter((t) => Buffer.compare(Buffer.from(t), Buffer.from('a0')) > 0));
  });

  test('last equal to the greatest tag → empty list, no Link', async () => {
    const { res, body } = await getJSON<TagList>(base, `/v2/${name}/tags/list?n=5&last=${encodeURIComponent(sorted[sorted.length - 1]!)}`);
    assert.deepEqual(body.tags, []);
    assert.equal(res.headers.get('link'), null);
  });

  test('n=0 → an empty list and no Link', async () => {
    const { res, body } = await getJSON<TagList>(base, `/v2/${name}/tags/list?n=0`);
    assert.equal(body.name, name);
    assert.deepEqual(body.tags, []);
    assert.equal(res.headers.get('link'), null, 'n=0 MUST NOT include a Link header');
  });

  test('a bad n → 400 PAGINATION_NUMBER_INVALID', async () => {
    for (const n of ['-1', 'abc', '1.5', '1e3', '0x10', ' 3']) {
      await expectError(await call(base, 'GET', `/v2/${name}/tags/list?n=${encodeURIComponent(n)}`), 400, 'PAGINATION_NUMBER_INVALID', `n=${n}`);
    }
  });

  test('unknown repository → 404 NAME_UNKNOWN', async () => {
    await expectError(await call(base, 'GET', `/v2/${uniqueName('ghost')}/tags/list`), 404, 'NAME_UNKNOWN');
  });

  test('a repository whose manifests were pushed only by digest → 200 with an empty list', async () => {
    const untagged = uniqueName('untagged');
    await pushImage(base, untagged);
    const { body } = await getJSON<TagList>(base, `/v2/${untagged}/tags/list`);
    assert.equal(body.name, untagged);
    assert.deepEqual(body.tags, []);
  });

  test('names with slashes', async () => {
    const nested = `${uniqueName('org')}/team/app`;
    const img = await pushImage(base, nested, { tag: 'v1' });
    await pushManifest(base, nested, 'v2', img.body, MT.ociManifest);
    const { body } = await getJSON<TagList>(base, `/v2/${nested}/tags/list`);
    assert.equal(body.name, nested);
    assert.deepEqual(body.tags, ['v1', 'v2']);
  });

  test('deleted tags disappear; tags of other repositories never show', async () => {
    const repo = uniqueName('tagdel');
    const other = uniqueName('tagdel-other');
    const img = await pushImage(base, repo, { tag: 'keep' });
    await pushManifest(base, repo, 'drop', img.body, MT.ociManifest);
    const o = await pushImage(base, other, { tag: 'foreign' });
    assert.ok(o, 'o');
    await expectStatus(await call(base, 'DELETE', `/v2/${repo}/manifests/drop`), 202);
    const { body } = await getJSON<TagList>(base, `/v2/${repo}/tags/list`);
    assert.deepEqual(body.tags, ['keep']);
  });
});

describe('catalog', () => {
  let reg: TestRegistry;
  let base: string;
  // A registry of its own, so the catalog holds exactly these repositories.
  const repos = ['alpha', 'beta/one', 'beta/two', 'beta', 'gamma.x', 'gamma-x', 'gamma_x', 'zeta/a/b/c', '0repo', 'a'];
  const sorted = byteSort(repos);

  before(async () => {
    reg = await startTestRegistry();
    base = reg.url;
    for (const r of repos) await pushImage(base, r, { tag: 'latest' });
    // A repository holding only blobs is not in the catalog.
    await pushBlob(base, 'blobs-only', randomData(10));
  });

  after(async () => {
    await closeRegistry(reg);
  });

  test('200 {repositories} in byte order, repositories with manifests only', async () => {
    const { res, body } = await getJSON<Catalog>(base, '/v2/_catalog');
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(body.repositories, sorted);
    assert.equal(res.headers.get('link'), null);
  });

  test('n smaller than the count → n repositories and a Link to the next page', async () => {
    const { res, body } = await getJSON<Catalog>(base, '/v2/_catalog?n=4');
    assert.deepEqual(body.repositories, sorted.slice(0, 4));
    const next = nextLink(res, base);
    assert.ok(next, 'Link when more repositories remain');
    assert.equal(next.pathname, '/v2/_catalog');
    assert.equal(next.searchParams.get('n'), '4');
    assert.equal(next.searchParams.get('last'), sorted[3]);
  });

  test('the Link has the documented form </v2/_catalog?n=N&last=X>; rel="next"', async () => {
    const { res } = await getJSON<Catalog>(base, '/v2/_catalog?n=1');
    assert.equal(res.headers.get('link'), `</v2/_catalog?n=1&last=${sorted[0]}>; rel="next"`);
  });

  test('following Link pages through every repository exactly once', async () => {
    for (const n of [1, 3, repos.length - 1]) {
      const seen: string[] = [];
      let url: URL | undefined = new URL(`/v2/_catalog?n=${n}`, base);
      let pages = 0;
      while (url) {
        const { res, body }: { res: Response; body: Catalog } = await getJSON<Catalog>(base, url);
        assert.ok(body.repositories.length <= n, 'body.repositories.length <= n');
        if (res.headers.get('link') !== null) assert.equal(body.repositories.length, n);
        seen.push(...body.repositories);
        url = nextLink(res, base);
        pages += 1;
        assert.ok(pages <= repos.length + 1, 'pagination terminates');
      }
      assert.deepEqual(seen, sorted, `n=${n}`);
    }
  });

  test('last (with a slash in it) → the repositories after it', async () => {
    const { body } = await getJSON<Catalog>(base, `/v2/_catalog?last=${encodeURIComponent('beta/one')}`);
    assert.deepEqual(body.repositories, sorted.slice(sorted.indexOf('beta/one') + 1));
    const { body: two } = await getJSON<Catalog>(base, `/v2/_catalog?n=2&last=beta`);
    assert.deepEqual(two.repositories, sorted.slice(sorted.indexOf('beta') + 1, sorted.indexOf('beta') + 3));
  });

  test('n larger than the count → everything, no Link', async () => {
    const { res, body } = await getJSON<Catalog>(base, `/v2/_catalog?n=${repos.length}`);
    assert.deepEqual(body.repositories, sorted);
    assert.equal(res.headers.get('link'), null);
  });

  test('n=0 → an empty list and no Link', async () => {
    const { res, body } = await getJSON<Catalog>(base, '/v2/_catalog?n=0');
    assert.deepEqual(body.repositories, []);
    assert.equal(res.headers.get('link'), null);
  });

  test('a bad n → 400 PAGINATION_NUMBER_INVALID', async () => {
    for (const n of ['-1', 'x', '2.5']) {
      await expectError(await call(base, 'GET', `/v2/_catalog?n=${n}`), 400, 'PAGINATION_NUMBER_INVALID', `n=${n}`);
    }
  });

  test('a repository leaves the catalog when its last manifest is deleted', async () => {
    const name = 'transient';
    const img = await pushImage(base, name, { tag: 'only' });
    let { body } = await getJSON<Catalog>(base, '/v2/_catalog');
    assert.ok(body.repositories.includes(name), 'body.repositories.includes(name)');
    await expectStatus(await call(base, 'DELETE', `/v2/${name}/manifests/${img.digest}`), 202);
    ({ body } = await getJSON<Catalog>(base, '/v2/_catalog'));
    assert.ok(!body.repositories.includes(name), `${name} should have left the catalog: ${body.repositories.join(', ')}`);
    assert.deepEqual(body.repositories, sorted);
  });
});
