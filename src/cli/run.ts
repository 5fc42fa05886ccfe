// Runs the CLI from the sources (used by tests through tsx); bin/wharf runs the compiled dist/ instead.
import { main } from './main.js';

process.exitCode = await main(process.argv.slice(2));
