// Keeps secrets out of logs: query parameters that may carry passwords or tokens are replaced.
const secretParams = /^(password|passwd|pass|secret|token|access_token|refresh_token|id_token|client_secret|code)$/i;

/** The request target with the values of secret-looking query parameters replaced by `REDACTED`. */
export function redactRequestTarget(target: string): string {
  const q = target.indexOf('?');
  if (q === -1) return target;
  const parts = target
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq === -1 ? pair : pair.slice(0, eq);
      let name = key;
      try {
        name = decodeURIComponent(key.replace(/\+/g, ' '));
      } catch {
        /* keep the raw key */
      }
      return eq !== -1 && secretParams.test(name) ? `${key}=REDACTED` : pair;
    });
  return `${target.slice(0, q)}?${parts.join('&')}`;
}
