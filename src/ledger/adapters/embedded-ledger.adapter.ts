// Before anything loads fabric-shim: it reads its log level at import.
import '../embedded/quiet-fabric-logging.js';
import { createHash, randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { JSONSerializer } from 'fabric-contract-api';
import {
  LedgerConflictError,
  LedgerError,
  LedgerIntegrityError,
  LedgerUnavailableError,
  ledgerErrorFromChaincodeMessage,
} from '../ledger.errors.js';
import type {
  EventsOptions,
  LedgerCheckpointStore,
  LedgerEvent,
  LedgerIdentity,
  LedgerPort,
  LedgerStatus,
  SubmitOptions,
  SubmitResult,
} from '../ports/ledger.port.js';
import { loadOrCreateInstanceId } from '../../common/instance-id-file.js';
import {
  Block,
  BlockFile,
  LedgerLogger,
  TransactionRecord,
  TxValidationCode,
} from '../embedded/block-file.js';
import { EmbeddedChaincodeStub, ReadWriteSet } from '../embedded/chaincode-stub.js';
import { validateBlock } from '../embedded/mvcc-validation.js';
import {
  createEmbeddedIdentity,
  DEFAULT_EMBEDDED_IDENTITY,
  EmbeddedIdentity,
  EmbeddedIdentityConfig,
} from '../embedded/embedded-identity.js';
import { WorldState } from '../embedded/world-state.js';

/** A fabric-contract-api `Contract` subclass. */
export type ContractClass = new () => object;

interface ChaincodeResponse {
  status: number;
  message?: string;
  payload?: Uint8Array;
}

interface ContractChaincode {
  Invoke(stub: EmbeddedChaincodeStub): Promise<ChaincodeResponse>;
}

/*
 * fabric-shim's own contract dispatch (what `fabric-chaincode-node start` runs): it builds each
 * transaction's Context and ClientIdentity, checks and deserializes parameters from the contract
 * metadata, runs before/around/after hooks and serializes the result. Driving it with the embedded
 * stub means the in-process chaincode behaves as it does on a peer, which a hand-written dispatcher
 * would only approximate. It is not a public entry point of the package, hence the deep require.
 */
const requireCjs = createRequire(import.meta.url);
const ChaincodeFromContract = requireCjs('fabric-shim/lib/contract-spi/chaincodefromcontract.js') as new (
  contracts: ContractClass[],
  serializers: { transaction: string; serializers: Record<string, unknown> },
  metadata: object,
  title: string,
  version: string,
) => ContractChaincode;

export interface EmbeddedLedgerOptions {
  /** Directory holding the block file and the world-state snapshot. */
  dataDir: string;
  logger: LedgerLogger;
  /** The identity transactions are submitted as (default: an admin of `HealthLedgerMSP`). */
  identity?: EmbeddedIdentityConfig;
  /** Open a chain that fails verification instead of refusing; status then reports verified=false. */
  allowCorruptedChain?: boolean;
  /** Contract classes to execute (default: `contracts` of the `healthledger-chaincode` package). */
  contracts?: ContractClass[];
  channelId?: string;
  chaincodeName?: string;
  /** Most transactions per block (default 500). */
  maxBlockTransactions?: number;
  /** How long an idle orderer waits for more transactions before cutting a block (default 0). */
  blockTimeoutMs?: number;
  /** Re-executions of a submit invalidated by an MVCC/phantom conflict before CONFLICT (default 10). */
  mvccRetries?: number;
  /** Write the world-state snapshot every this many blocks, besides at stop (default 1000). */
  snapshotEveryBlocks?: number;
}

interface PendingTx {
  record: TransactionRecord;
  settle: (outcome: { blockNumber: number; validation: TxValidationCode } | Error) => void;
}

interface Simulation {
  txId: string;
  timestamp: number;
  payload: Buffer;
  rwset: ReadWriteSet;
}

const BLOCK_FILE = 'blocks.bin';
const SNAPSHOT_FILE = 'world-state.snapshot';
/** The chain's id (a UUID), created with it: tells this node's chain from another node's (DeploymentBindings). */
const LEDGER_ID_FILE = 'ledger-id';

/**
 * The embedded ledger: the chaincode executed in-process, Fabric's execute-order-validate flow,
 * blocks appended to a hash-chained file with one fdatasync per block (group commit).
 */
export class EmbeddedLedger implements LedgerPort {
  private readonly options: Required<Omit<EmbeddedLedgerOptions, 'identity' | 'contracts'>> &
    Pick<EmbeddedLedgerOptions, 'contracts'> & { identity: EmbeddedIdentityConfig };
  private blockFile: BlockFile | undefined;
  private worldState = new WorldState();
  private chaincode: ContractChaincode | undefined;
  private identity: EmbeddedIdentity | undefined;
  private creatorBytes = Buffer.alloc(0);
  private running = false;
  private queue: PendingTx[] = [];
  private ordering: Promise<void> | undefined;
  private blockWaiters: Array<() => void> = [];
  private snapshotWrite: Promise<void> | undefined;
  private blocksSinceSnapshot = 0;

  constructor(options: EmbeddedLedgerOptions) {
    this.options = {
      identity: DEFAULT_EMBEDDED_IDENTITY,
      allowCorruptedChain: false,
      channelId: 'healthledger',
      chaincodeName: 'healthledger',
      maxBlockTransactions: 500,
      blockTimeoutMs: 0,
      mvccRetries: 10,
      snapshotEveryBlocks: 1000,
      ...options,
    };
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { dataDir, logger, allowCorruptedChain } = this.options;
    const contracts = this.options.contracts ?? (await loadPackagedContracts());
    this.chaincode = new ChaincodeFromContract(
      [...contracts], // the dispatcher appends its system contract to the array it is given
      { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } },
      {},
      this.options.chaincodeName,
      '',
    );
    this.identity = await createEmbeddedIdentity(this.options.identity);
    this.creatorBytes = Buffer.from(this.identity.certificatePem, 'utf8');
    const blockFile = await BlockFile.open(join(dataDir, BLOCK_FILE), { logger, allowCorruptedChain });
    try {
      this.worldState = await this.loadWorldState(blockFile);
    } catch (err) {
      await blockFile.close();
      throw err;
    }
    this.blockFile = blockFile;
    this.running = true;
  }

  /** Snapshot if it matches the chain, then replay of the blocks it does not reflect yet. */
  private async loadWorldState(blockFile: BlockFile): Promise<WorldState> {
    const { dataDir, logger, allowCorruptedChain } = this.options;
    let state = await WorldState.loadSnapshot(join(dataDir, SNAPSHOT_FILE));
    if (state && state.height > blockFile.height) {
      const message =
        `Embedded ledger: the world-state snapshot reflects ${state.height} blocks but the chain has ` +
        `only ${blockFile.height}: committed blocks are missing from ${join(dataDir, BLOCK_FILE)}`;
      if (!allowCorruptedChain) throw new LedgerIntegrityError(message, blockFile.height);
      logger.error(`${message} (rebuilding from the blocks: allowCorruptedChain is set)`);
      state = undefined;
    } else if (state && state.height > 0 && (await blockFile.blockHash(state.height - 1)) !== state.headHash) {
      logger.warn('Embedded ledger: the world-state snapshot does not match the chain, rebuilding it');
      state = undefined;
    }
    if (!state) {
      if (blockFile.height > 0) logger.info(`Embedded ledger: rebuilding the world state from ${blockFile.height} blocks`);
      state = new WorldState();
    }
    for (let n = state.height; n < blockFile.height; n++) state.applyBlock(await blockFile.readBlock(n));
    return state;
  }

  /** This chain's own id, kept beside its blocks: another node's embedded ledger is another chain. */
  async deploymentIdentity(): Promise<LedgerIdentity> {
    const id = await loadOrCreateInstanceId(join(this.options.dataDir, LEDGER_ID_FILE));
    return { id: `embedded:${id}`, description: `the embedded ledger ${id} (${this.options.dataDir})` };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    await this.ordering;
    this.wakeEventStreams();
    await this.snapshotWrite;
    await this.worldState.saveSnapshot(join(this.options.dataDir, SNAPSHOT_FILE));
    await this.blockFile?.close();
    this.blockFile = undefined;
  }

  async submit(fn: string, args: string[], options: SubmitOptions = {}): Promise<SubmitResult> {
    // Once: a transaction invalidated at commit is simulated again below.
    let onEndorsed = options.onEndorsed;
    for (let attempt = 1; ; attempt++) {
      const simulation = await this.simulate(fn, args);
      onEndorsed?.();
      onEndorsed = undefined;
      const { blockNumber, validation } = await this.order(this.toRecord(fn, args, simulation));
      if (validation === 'VALID') return { txId: simulation.txId, blockNumber, result: simulation.payload };
      if (attempt > this.options.mvccRetries) {
        throw new LedgerConflictError(`${fn} was invalidated (${validation}) on each of ${attempt} attempts`);
      }
      // Jitter keeps transactions that collided from colliding again in lockstep.
      await sleep(Math.random() * Math.min(2 ** attempt, 20));
    }
  }

  async evaluate(fn: string, args: string[]): Promise<Buffer> {
    return (await this.simulate(fn, args)).payload;
  }

  events(fromBlock: number, options: EventsOptions = {}): AsyncIterable<LedgerEvent> {
    return { [Symbol.asyncIterator]: () => this.eventStream(fromBlock, options.checkpoint) };
  }

  async status(): Promise<LedgerStatus> {
    const blockFile = this.requireOpen();
    return {
      backend: 'embedded',
      height: blockFile.height,
      headHash: blockFile.headHash,
      verified: blockFile.verified,
      lastVerifiedAt: blockFile.verifiedAt,
    };
  }

  private requireOpen(): BlockFile {
    if (!this.running || !this.blockFile) throw new LedgerUnavailableError('The embedded ledger is not running');
    return this.blockFile;
  }

  /** Executes the chaincode against the committed state; nothing changes until the rw-set commits. */
  private async simulate(fn: string, args: string[]): Promise<Simulation> {
    this.requireOpen();
    const txId = createHash('sha256').update(randomBytes(24)).update(this.creatorBytes).digest('hex');
    const timestamp = Date.now();
    const stub = new EmbeddedChaincodeStub({
      worldState: this.worldState,
      chaincodeName: this.options.chaincodeName,
      channelId: this.options.channelId,
      txId,
      creator: { mspid: this.identity!.mspId, idBytes: this.creatorBytes },
      args: [fn, ...args],
      timestamp,
    });
    const response = await this.chaincode!.Invoke(stub);
    if (response.status !== 200) throw ledgerErrorFromChaincodeMessage(response.message ?? 'chaincode failed');
    return { txId, timestamp, payload: Buffer.from(response.payload ?? []), rwset: stub.readWriteSet() };
  }

  private toRecord(fn: string, args: string[], simulation: Simulation): TransactionRecord {
    const { rwset } = simulation;
    return {
      txId: simulation.txId,
      creator: { mspId: this.identity!.mspId, id: this.identity!.id },
      fn,
      args,
      timestamp: simulation.timestamp,
      reads: rwset.reads,
      ranges: rwset.ranges,
      writes: rwset.writes.map(([key, value]) => [key, value?.toString('base64') ?? null] as const),
      event: rwset.event && { name: rwset.event.name, payload: rwset.event.payload.toString('base64') },
      validation: 'VALID',
    };
  }

  private order(record: TransactionRecord): Promise<{ blockNumber: number; validation: TxValidationCode }> {
    return new Promise((resolve, reject) => {
      this.requireOpen();
      this.queue.push({ record, settle: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)) });
      this.ordering ??= this.runOrderer().finally(() => (this.ordering = undefined));
    });
  }

  /** Cuts, validates and commits blocks while transactions are queued: the group commit loop. */
  private async runOrderer(): Promise<void> {
    await (this.options.blockTimeoutMs > 0
      ? sleep(this.options.blockTimeoutMs)
      : new Promise<void>((resolve) => setImmediate(resolve)));
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.options.maxBlockTransactions);
      let block: Block;
      try {
        const records = validateBlock(batch.map((p) => p.record), this.worldState);
        block = await this.blockFile!.append(records);
      } catch (err) {
        const error = err instanceof LedgerError ? err : new LedgerUnavailableError('Block append failed', { cause: err });
        this.options.logger.error(`Embedded ledger: block append failed: ${(err as Error).message}`);
        for (const pending of batch) pending.settle(error);
        continue;
      }
      this.worldState.applyBlock(block);
      batch.forEach((pending, i) =>
        pending.settle({ blockNumber: block.header.number, validation: block.transactions[i].validation }),
      );
      this.wakeEventStreams();
      this.maybeSnapshot();
    }
  }

  private maybeSnapshot(): void {
    if (++this.blocksSinceSnapshot < this.options.snapshotEveryBlocks || this.snapshotWrite) return;
    this.blocksSinceSnapshot = 0;
    this.snapshotWrite = this.worldState
      .saveSnapshot(join(this.options.dataDir, SNAPSHOT_FILE))
      .catch((err: Error) => this.options.logger.warn(`Embedded ledger: snapshot write failed: ${err.message}`))
      .finally(() => (this.snapshotWrite = undefined));
  }

  private wakeEventStreams(): void {
    const waiters = this.blockWaiters;
    this.blockWaiters = [];
    for (const wake of waiters) wake();
  }

  private async *eventStream(fromBlock: number, checkpoint?: LedgerCheckpointStore): AsyncGenerator<LedgerEvent> {
    this.requireOpen();
    const resumeAfter = await checkpoint?.load();
    let blockNumber = resumeAfter ? resumeAfter.blockNumber : Math.max(0, fromBlock);
    let skipThroughTx = resumeAfter?.txId;
    while (this.running) {
      if (blockNumber >= this.blockFile!.height) {
        await new Promise<void>((resolve) => this.blockWaiters.push(resolve));
        continue;
      }
      const block = await this.blockFile!.readBlock(blockNumber);
      for (const tx of block.transactions) {
        if (skipThroughTx !== undefined) {
          if (tx.txId === skipThroughTx) skipThroughTx = undefined;
          continue;
        }
        if (tx.validation !== 'VALID' || !tx.event) continue;
        yield { blockNumber, txId: tx.txId, eventName: tx.event.name, payload: Buffer.from(tx.event.payload, 'base64') };
        // Execution resumes here when the consumer asks for the next event: this one is processed.
        await checkpoint?.save({ blockNumber, txId: tx.txId });
        if (!this.running) return;
      }
      skipThroughTx = undefined;
      blockNumber++;
    }
  }
}

/**
 * fabric-shim's logger installs process-wide uncaughtException/unhandledRejection handlers that log
 * and carry on (winston `exitOnError: false`). Right for a chaincode process, wrong inside the API:
 * a crash must still crash. Handlers added while the contracts load are removed again.
 */
async function loadPackagedContracts(): Promise<ContractClass[]> {
  const events: NodeJS.Signals[] = ['uncaughtException', 'unhandledRejection'] as unknown as NodeJS.Signals[];
  const before = new Map(events.map((event) => [event, new Set(process.listeners(event))]));
  const chaincodePackage = (await import('healthledger-chaincode')) as { contracts?: ContractClass[] };
  for (const event of events) {
    for (const listener of process.listeners(event)) {
      if (!before.get(event)!.has(listener)) process.removeListener(event, listener);
    }
  }
  if (!Array.isArray(chaincodePackage.contracts) || chaincodePackage.contracts.length === 0) {
    throw new Error('healthledger-chaincode exports no `contracts`: run `npm run build -w chaincode`');
  }
  return chaincodePackage.contracts;
}
