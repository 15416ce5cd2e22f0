#!/usr/bin/env node
import { runVerifyLedger } from './verify-ledger.js';
import { runVerifyProof } from './verify-proof.js';

/** The `healthledger-verify` command: `proof <file> [--ledger DIR]` or `ledger [--data-dir DIR]`. */
const io = { out: (line: string) => process.stdout.write(`${line}\n`), err: (line: string) => console.error(line) };
const [command, ...args] = process.argv.slice(2);

async function main(): Promise<number> {
  switch (command) {
    case 'proof':
      return runVerifyProof(args, io);
    case 'ledger':
      return runVerifyLedger(args, process.env, io);
    default:
      io.err('usage: healthledger-verify proof <proof.json> [--ledger <DATA_DIR>/ledger]');
      io.err('       healthledger-verify ledger [--data-dir DIR]');
      return 2;
  }
}

main().then(
  (code) => (process.exitCode = code),
  (error: Error) => {
    io.err(`healthledger-verify: ${error.message}`);
    process.exitCode = 2;
  },
);
