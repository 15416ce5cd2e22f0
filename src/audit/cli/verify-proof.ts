import { readFile } from 'node:fs/promises';
import { readEmbeddedChain, verifyProofFile } from '../audit-verifier.js';

export interface CliIo {
  out(line: string): void;
  err(line: string): void;
}

/**
 * `healthledger-verify proof <file> [--ledger <ledger dir>]`: checks an access event's inclusion
 * proof offline; with --ledger, also that root and tree size are the ones anchored in the embedded
 * chain (read from a copy of its block file). Exit 0 valid, 1 invalid, 2 usage or unreadable input.
 */
export async function runVerifyProof(args: string[], io: CliIo): Promise<number> {
  const [file, ...rest] = args;
  let ledgerDir: string | undefined;
  if (rest[0] === '--ledger' && rest[1]) ledgerDir = rest[1];
  else if (rest.length > 0 || !file) {
    io.err('usage: healthledger-verify proof <proof.json> [--ledger <DATA_DIR>/ledger]');
    return 2;
  }
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    io.err(`cannot read ${file}: ${(error as Error).message}`);
    return 2;
  }
  let anchors;
  if (ledgerDir) {
    const chain = await readEmbeddedChain(ledgerDir);
    for (const problem of chain.problems) io.err(`ledger: ${problem}`);
    anchors = chain.anchors;
  }
  const check = verifyProofFile(json, anchors);
  for (const problem of check.problems) io.err(`INVALID: ${problem}`);
  if (!check.valid) return 1;
  io.out(`VALID: leaf ${check.leafHash} is in the tree${anchors ? ' anchored on the ledger' : ''}`);
  return 0;
}
