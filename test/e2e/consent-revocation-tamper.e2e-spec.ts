import { revocationTamperSuite } from '../support/revocation-tamper-suite.js';
import { startTestApp } from '../support/test-app.js';

// The embedded ledger, on PGlite under `npm test` and on PostgreSQL under `npm run test:integration`;
// test/integration/fabric-app.spec.ts runs the same suite over the Fabric Gateway test server.
revocationTamperSuite('embedded', (env, dataDir) => startTestApp(env, dataDir));
