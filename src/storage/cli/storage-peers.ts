#!/usr/bin/env node
import { runStoragePeers } from './provision-storage-peers.js';

/** `storage-peers [--owner UID:GID] HOST:PORT=DATA_DIR...`: see provision-storage-peers.ts. */
runStoragePeers(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    console.error(`storage-peers: ${error.message}`);
    process.exitCode = 1;
  },
);
