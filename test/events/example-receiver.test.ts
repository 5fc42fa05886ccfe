// examples/webhook-receiver/receiver.mjs with examples/events.yaml: the runnable example receives Wharf's
// deliveries, verifies their signatures (printing "verified") and refuses a delivery with a bad signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { RegistryClient } from '../../src/client/index.js';
import { buildImage, pushImage } from '../client/helpers.js';
import { freePort, projectRoot } from '../helpers/processes.js';
import { quick, startEventsRegistry } from './helpers.js';

test('the example receiver verifies and prints the events of examples/events.yaml', async () => {
  const port = await freePort();
  const proc = spawn(process.execPath, [join(projectRoot, 'examples', 'webhook-receiver', 'receiver.mjs')], {
    env: { ...process.env, PORT: String(port), WEBHOOK_SECRET: 'change-me' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const waitFor = async (what: RegExp, count = 1) => {
    const deadline = Date.now() + 30_000;
    while ((out.match(new RegExp(what, 'g')) ?? []).length < count) {
      if (Date.now() > deadline || proc.exitCode !== null) throw new Error(`receiver output lacks ${what} x${count}:\n${out}`);
      await new Promise((r) => setTimeout(r, 25));
    }
  };
  try {
    await waitFor(/listening/);
    const example = parse(readFileSync(join(projectRoot, 'examples', 'events.yaml'), 'utf8')) as { events: { endpoints: { url: string }[] } };
    for (const e of example.events.endpoints) e.url = e.url.replace(':8089/', `:${port}/`);
    const reg = await startEventsRegistry({ events: { ...example.events, ...quick } });
    const client = new RegistryClient(reg.url);
    try {
      const image = buildImage();
      await pushImage(client, 'prod/app', image, 'v1');
      await client.getManifest('prod/app', 'v1');
      await waitFor(/io\.wharf\.manifest\.pulled prod\/app:v1 .* verified/);
      for (const t of ['blob.uploaded', 'manifest.pushed', 'tag.created']) assert.match(out, new RegExp(`io\\.wharf\\.${t} prod/app.* verified`));
      // releases-only (tag changes under prod/**) gets the tag change too.
      await waitFor(/io\.wharf\.tag\.created prod\/app:v1 .* verified/, 2);
      const bad = await fetch(`http://127.0.0.1:${port}/events`, { method: 'POST', headers: { 'X-Wharf-Signature': 'sha256=00' }, body: '{}' });
      assert.equal(bad.status, 401);
      await waitFor(/rejected: bad signature/);
    } finally {
      await client.close();
      await reg.close();
    }
  } finally {
    proc.kill('SIGTERM');
  }
});
