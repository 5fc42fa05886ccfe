// Example Wharf admission hook in plain Node (no dependencies). Wharf POSTs a review of every manifest push
// (and, with admission.onPull, of every manifest GET) and reads {"allowed": bool, "reason": "..."}.
// This hook refuses image pushes
//   - whose config lacks the label REQUIRED_LABEL (default org.opencontainers.image.source), and
//   - whose config and layers add up to more than MAX_IMAGE_BYTES (default 500 MiB);
// indexes and artifacts (signatures, SBOMs: manifests with an artifactType or a subject) pass, and so do pulls.
//
// Run: node examples/admission-hook/server.js     (HOST=127.0.0.1 PORT=5005 ADMISSION_TOKEN=change-me)
// with examples/admission.yaml pointing Wharf at it. docs/extending.md describes the review.
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';

const imageManifestTypes = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

/** The policy: a verdict for one review. Exported so it can be read (and tested) apart from the server. */
export function decide(review, policy) {
  if (review.action !== 'push') return { allowed: true };
  const m = review.manifest ?? {};
  if (!imageManifestTypes.includes(review.mediaType)) return { allowed: true, reason: 'not an image manifest' };
  if (m.artifactType !== undefined || m.subject !== undefined) return { allowed: true, reason: 'an artifact' };
  const layers = Array.isArray(m.layers) ? m.layers : [];
  const total = (m.config?.size ?? 0) + layers.reduce((sum, l) => sum + (typeof l.size === 'number' ? l.size : 0), 0);
  if (total > policy.maxImageBytes) {
    return { allowed: false, reason: `${review.repository}: the image is ${mib(total)}, more than the ${mib(policy.maxImageBytes)} allowed` };
  }
  if (policy.requiredLabel) {
    // review.config is the image config (parsed) when Wharf could send it; null otherwise.
    const labels = review.config?.config?.Labels ?? {};
    if (typeof labels[policy.requiredLabel] !== 'string' || labels[policy.requiredLabel] === '') {
      return { allowed: false, reason: `${review.repository}: images must carry the label ${policy.requiredLabel} (LABEL in the Dockerfile, --label with buildah)` };
    }
  }
  return { allowed: true };
}

function mib(bytes) {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function answer(res, status, value) {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

export function startHookServer(options) {
  const server = createServer((req, res) => {
    if (req.method !== 'POST' || req.url !== '/admit') return answer(res, 404, { error: 'POST /admit' });
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) return answer(res, 401, { error: 'wrong or missing bearer token' });
    const chunks = [];
    let size = 0;
    req.on('data', (c) => {
      size += c.length;
      if (size > 8 * 1024 * 1024) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      let review;
      try {
        review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        return answer(res, 400, { error: 'the body is not JSON' });
      }
      const verdict = decide(review, options.policy);
      console.log(`${new Date().toISOString()} ${review.action} ${review.repository}@${review.digest} by ${review.actor?.name ?? 'anonymous'}: ${verdict.allowed ? 'allowed' : `denied (${verdict.reason})`}`);
      answer(res, 200, verdict);
    });
  });
  return new Promise((resolve) => server.listen(options.port, options.host, () => resolve(server)));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const env = process.env;
  const server = await startHookServer({
    host: env.HOST ?? '127.0.0.1',
    port: Number(env.PORT ?? 5005),
    token: env.ADMISSION_TOKEN ?? 'change-me',
    policy: {
      requiredLabel: env.REQUIRED_LABEL ?? 'org.opencontainers.image.source',
      maxImageBytes: Number(env.MAX_IMAGE_BYTES ?? 500 * 1048576),
    },
  });
  const { address, port } = server.address();
  console.log(`admission hook listening on http://${address}:${port}/admit`);
  const stop = () => server.close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
