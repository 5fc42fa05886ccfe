// The options that say how the server is configured, shared by `wharf serve` and `wharf config print`
// (and every later command that opens the server's storage and metadata, like `wharf gc`).
import type { Command } from 'commander';

export function addServerOptions(cmd: Command): Command {
  return cmd
    .option('-c, --config <file>', 'YAML configuration file (env WHARF_CONFIG)')
    .option('-l, --listen <host:port>', 'address to listen on (env WHARF_LISTEN; default 127.0.0.1:5000)')
    .option('-d, --data <dir>', 'data directory: blobs in DIR/blobs, metadata in DIR/wharf.db (env WHARF_DATA; default ./data)')
    .option('--storage <url>', 'storage: file:///path, memory:, s3://BUCKET/PREFIX?endpoint=…, azure://CONTAINER/PREFIX?account=… (env WHARF_STORAGE; default file://DATA/blobs)')
    .option('--metadata <url>', 'metadata store: sqlite:PATH or postgres://USER@HOST/DB (env WHARF_METADATA; default sqlite:DATA/wharf.db)')
    .option('--read-only', 'refuse every write with 405 UNSUPPORTED, for maintenance (env WHARF_READ_ONLY=true; config readOnly)')
    .option('--debug-listen <host:port>', 'serve /metrics, /healthz and /readyz on this separate address, plain HTTP without auth (env WHARF_DEBUG_LISTEN; config debug.listen; off by default)')
    .option('--log-level <level>', 'fatal, error, warn, info, debug, trace or silent (env WHARF_LOG_LEVEL; default info)');
}
