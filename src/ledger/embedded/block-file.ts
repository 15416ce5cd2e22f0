import { createHash } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { FileHandle, mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { canonicalJsonBytes } from 'healthledger-chaincode/shared';
import { LedgerIntegrityError } from '../ledger.errors.js';
import { merkleRoot } from '../../crypto/merkle.js';

/** Plain logger interface so the ledger needs no framework; pino and Nest's Logger both fit. */
export interface LedgerLogger {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Position of a write in the chain: block number and index of the transaction in the block. */
export type TxVersion = readonly [block: number, tx: number];

/** Fabric's validation codes for the outcomes the embedded ledger can produce. */
export type TxValidationCode = 'VALID' | 'MVCC_READ_CONFLICT' | 'PHANTOM_READ_CONFLICT';

/** A range query as executed during simulation, re-checked at validation (phantom reads). */
export interface RangeRead {
  start: string;
  end: string;
  /** Whether the chaincode read the range to its end (otherwise only `reads` is compared). */
  exhausted: boolean;
  reads: Array<readonly [key: string, version: TxVersion]>;
}

export interface TransactionRecord {
  txId: string;
  creator: { mspId: string; id: string };
  fn: string;
  args: string[];
  /** Proposal time in milliseconds since the epoch (what `getTxTimestamp` returned). */
  timestamp: number;
  reads: Array<readonly [key: string, version: TxVersion | null]>;
  ranges: RangeRead[];
  /** Base64 value, or null for a delete. */
  writes: Array<readonly [key: string, value: string | null]>;
  /** Fabric keeps one chaincode event per transaction: the last `setEvent` wins. */
  event: { name: string; payload: string } | null;
  validation: TxValidationCode;
}

export interface BlockHeader {
  number: number;
  previousHash: string;
  /** RFC 6962 Merkle root over the stored bytes of the block's transactions. */
  merkleRoot: string;
  time: number;
  txCount: number;
}

export interface Block {
  header: BlockHeader;
  /** SHA-256 of the canonical header, which includes the previous block's hash. */
  hash: string;
  transactions: TransactionRecord[];
}

export interface BlockFileOptions {
  logger: LedgerLogger;
  /** Open a chain that fails verification instead of refusing (status then says verified=false). */
  allowCorruptedChain?: boolean;
}

export const ZERO_HASH = '0'.repeat(64);

/*
 * Frame: MAGIC | u32 payload length | payload | SHA-256(payload).
 * Payload: u32 header length | canonical header JSON | u32 tx count | (u32 length | tx JSON)*.
 * The frame checksum tells a torn append from a complete one; the header hash chain and the Merkle
 * root tell tampering from accident.
 */
const MAGIC = Buffer.from('HLB1', 'latin1');
const FRAME_HEAD = 8;
const CHECKSUM = 32;
const READ_WINDOW = 4 * 1024 * 1024;

const sha256 = (data: Uint8Array): Buffer => createHash('sha256').update(data).digest();

interface Frame {
  offset: number;
  end: number;
  payload: Buffer;
  checksumOk: boolean;
}

interface ParsedPayload {
  headerBytes: Buffer;
  header: BlockHeader;
  txBytes: Buffer[];
}

/** Sequential reads through a large window, so scanning a chain costs few system calls. */
class WindowReader {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}

  async read(offset: number, length: number): Promise<Buffer | undefined> {
    if (offset + length > this.size) return undefined;
    const windowEnd = this.windowStart + this.window.length;
    if (offset < this.windowStart || offset + length > windowEnd) {
      const want = Math.min(Math.max(length, READ_WINDOW), this.size - offset);
      const buf = Buffer.allocUnsafe(want);
      const { bytesRead } = await this.fh.read(buf, 0, want, offset);
      this.window = buf.subarray(0, bytesRead);
      this.windowStart = offset;
      if (bytesRead < length) return undefined;
    }
    return this.window.subarray(offset - this.windowStart, offset - this.windowStart + length);
  }
}

async function readFrame(reader: WindowReader, offset: number): Promise<Frame | undefined> {
  const head = await reader.read(offset, FRAME_HEAD);
  if (!head || !head.subarray(0, 4).equals(MAGIC)) return undefined;
  const length = head.readUInt32BE(4);
  const body = await reader.read(offset + FRAME_HEAD, length + CHECKSUM);
  if (!body) return undefined;
  // Copy out of the shared window: the next read may replace it.
  const payload = Buffer.from(body.subarray(0, length));
  const checksumOk = sha256(payload).equals(body.subarray(length));
  return { offset, end: offset + FRAME_HEAD + length + CHECKSUM, payload, checksumOk };
}

function parsePayload(payload: Buffer): ParsedPayload | undefined {
  try {
    let pos = 0;
    const headerLength = payload.readUInt32BE(pos);
    pos += 4;
    const headerBytes = payload.subarray(pos, pos + headerLength);
    pos += headerLength;
    const header = JSON.parse(headerBytes.toString('utf8')) as BlockHeader;
    const txCount = payload.readUInt32BE(pos);
    pos += 4;
    const txBytes: Buffer[] = [];
    for (let i = 0; i < txCount; i++) {
      const length = payload.readUInt32BE(pos);
      pos += 4;
      if (pos + length > payload.length) return undefined;
      txBytes.push(payload.subarray(pos, pos + length));
      pos += length;
    }
    if (pos !== payload.length) return undefined;
    return { headerBytes, header, txBytes };
  } catch {
    return undefined;
  }
}

function encodeBlock(header: BlockHeader, txBytes: Buffer[]): { frame: Buffer; hash: string } {
  const headerBytes = canonicalJsonBytes(header);
  const parts: Buffer[] = [u32(headerBytes.length), headerBytes, u32(txBytes.length)];
  for (const tx of txBytes) parts.push(u32(tx.length), tx);
  const payload = Buffer.concat(parts);
  const frame = Buffer.concat([MAGIC, u32(payload.length), payload, sha256(payload)]);
  return { frame, hash: sha256(headerBytes).toString('hex') };
}

function u32(value: number): Buffer {
  const buf = Buffer.allocUnsafe(4);
  buf.writeUInt32BE(value);
  return buf;
}

function decodeTransactions(txBytes: Buffer[]): TransactionRecord[] {
  return txBytes.map((bytes) => JSON.parse(bytes.toString('utf8')) as TransactionRecord);
}

/**
 * The embedded ledger's append-only, hash-chained block file. `open` verifies the whole chain;
 * `append` writes one block with one write and one fdatasync (the group commit unit).
 */
export class BlockFile {
  private readonly offsets: number[] = [];
  private readonly lengths: number[] = [];
  private head = ZERO_HASH;
  private fileEnd = 0;
  /** Set when an unreadable block sits in the middle: appending would bury the evidence. */
  private appendBlockedBy: string | undefined;

  private constructor(
    private readonly fh: FileHandle,
    readonly path: string,
    private readonly logger: LedgerLogger,
    private verifiedFlag: boolean,
    readonly verifiedAt: Date,
  ) {}

  static async open(path: string, options: BlockFileOptions): Promise<BlockFile> {
    await mkdir(dirname(path), { recursive: true });
    const fh = await open(path, fsConstants.O_RDWR | fsConstants.O_CREAT, 0o600);
    try {
      const file = new BlockFile(fh, path, options.logger, true, new Date());
      await file.scan(options.allowCorruptedChain ?? false);
      return file;
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  get height(): number {
    return this.offsets.length;
  }

  get headHash(): string {
    return this.head;
  }

  get verified(): boolean {
    return this.verifiedFlag;
  }

  private async scan(allowCorrupted: boolean): Promise<void> {
    const { size } = await this.fh.stat();
    const reader = new WindowReader(this.fh, size);
    let offset = 0;
    let previousHash = ZERO_HASH;
    const fail = (blockNumber: number, reason: string): void => {
      const message = `Embedded ledger ${this.path}: block ${blockNumber} ${reason}`;
      if (!allowCorrupted) throw new LedgerIntegrityError(message, blockNumber);
      this.logger.error(`${message} (opened anyway: allowCorruptedChain is set)`);
      this.verifiedFlag = false;
    };

    while (offset < size) {
      const number = this.offsets.length;
      const frame = await readFrame(reader, offset);
      const parsed = frame ? parsePayload(frame.payload) : undefined;
      if (!frame || !parsed) {
        if (await this.validFrameAfter(reader, offset + 1)) {
          fail(number, 'is unreadable and later blocks follow it');
          this.appendBlockedBy = `block ${number} is unreadable`;
          break;
        }
        this.logger.warn(
          `Embedded ledger ${this.path}: torn tail after block ${number - 1} ` +
            `(${size - offset} bytes from an interrupted append), truncating`,
        );
        await this.fh.truncate(offset);
        await this.fh.datasync();
        break;
      }
      if (!frame.checksumOk && frame.end === size) {
        // A complete-length frame whose bytes never all reached the disk: the append was not
        // acknowledged (acknowledgement follows fdatasync), so it is dropped like any torn tail.
        this.logger.warn(`Embedded ledger ${this.path}: last block ${number} fails its checksum, truncating`);
        await this.fh.truncate(offset);
        await this.fh.datasync();
        break;
      }
      if (!frame.checksumOk) fail(number, 'fails its checksum (altered or corrupted)');
      const { header, headerBytes, txBytes } = parsed;
      if (header.number !== number) fail(number, `carries block number ${header.number}`);
      if (header.previousHash !== previousHash) fail(number, 'does not link to the previous block hash');
      if (header.txCount !== txBytes.length || merkleRoot(txBytes).toString('hex') !== header.merkleRoot) {
        fail(number, 'has transactions that do not match its Merkle root');
      }
      previousHash = sha256(headerBytes).toString('hex');
      this.offsets.push(offset);
      this.lengths.push(frame.end - offset);
      offset = frame.end;
    }
    this.head = previousHash;
    this.fileEnd = offset;
  }

  /** Whether any intact frame starts at or after `from`: a torn tail has none. */
  private async validFrameAfter(reader: WindowReader, from: number): Promise<boolean> {
    let pos = from;
    while (pos < reader.size) {
      const chunk = await reader.read(pos, Math.min(READ_WINDOW, reader.size - pos));
      if (!chunk) return false;
      // Each window read allocates a fresh buffer, so `chunk` stays valid while frames are probed.
      for (let at = chunk.indexOf(MAGIC); at !== -1; at = chunk.indexOf(MAGIC, at + 1)) {
        const frame = await readFrame(reader, pos + at);
        if (frame?.checksumOk && parsePayload(frame.payload)) return true;
      }
      // Overlap by the magic's length so a magic split across chunks is still found.
      pos += Math.max(1, chunk.length - MAGIC.length + 1);
    }
    return false;
  }

  /** Appends one block (one write, one fdatasync) and returns it once it is durable. */
  async append(transactions: TransactionRecord[], time = Date.now()): Promise<Block> {
    if (this.appendBlockedBy) {
      throw new LedgerIntegrityError(`Embedded ledger ${this.path} is read-only: ${this.appendBlockedBy}`);
    }
    const txBytes = transactions.map((tx) => Buffer.from(JSON.stringify(tx), 'utf8'));
    const header: BlockHeader = {
      number: this.height,
      previousHash: this.head,
      merkleRoot: merkleRoot(txBytes).toString('hex'),
      time,
      txCount: txBytes.length,
    };
    const { frame, hash } = encodeBlock(header, txBytes);
    await this.fh.write(frame, 0, frame.length, this.fileEnd);
    await this.fh.datasync();
    this.offsets.push(this.fileEnd);
    this.lengths.push(frame.length);
    this.fileEnd += frame.length;
    this.head = hash;
    return { header, hash, transactions };
  }

  async readBlock(number: number): Promise<Block> {
    if (!Number.isInteger(number) || number < 0 || number >= this.height) {
      throw new RangeError(`Block ${number} does not exist (height ${this.height})`);
    }
    const buf = Buffer.allocUnsafe(this.lengths[number]);
    await this.fh.read(buf, 0, buf.length, this.offsets[number]);
    const parsed = parsePayload(buf.subarray(FRAME_HEAD, buf.length - CHECKSUM));
    if (!parsed) throw new LedgerIntegrityError(`Block ${number} became unreadable`, number);
    return {
      header: parsed.header,
      hash: sha256(parsed.headerBytes).toString('hex'),
      transactions: decodeTransactions(parsed.txBytes),
    };
  }

  /** The hash of block `number` as stored (used to check a world-state snapshot against the chain). */
  async blockHash(number: number): Promise<string> {
    return (await this.readBlock(number)).hash;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}
