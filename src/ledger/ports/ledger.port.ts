/**
 * The one way the application talks to a ledger. Two adapters implement it: the embedded ledger
 * (the chaincode executed in-process over a hash-chained block file) and Hyperledger Fabric through
 * the gateway. Both are held to `runLedgerPortConformance`.
 *
 * Function names are qualified the way Fabric qualifies them: `ContractName:FunctionName`.
 */
export type LedgerBackend = 'embedded' | 'fabric';

export interface SubmitResult {
  txId: string;
  blockNumber: number;
  /** The chaincode's return value as the contract serialized it. */
  result: Buffer;
}

/** A chaincode event (`ctx.stub.setEvent`) of a valid, committed transaction. */
export interface LedgerEvent {
  blockNumber: number;
  txId: string;
  eventName: string;
  payload: Buffer;
}

/** The last event a consumer finished processing; events resume right after it. */
export interface LedgerCheckpoint {
  blockNumber: number;
  txId: string;
}

export interface LedgerCheckpointStore {
  load(): Promise<LedgerCheckpoint | undefined>;
  save(checkpoint: LedgerCheckpoint): Promise<void>;
}

export interface EventsOptions {
  /**
   * When given, a stored checkpoint takes precedence over `fromBlock`, and every event counts as
   * processed (and is checkpointed) once the consumer asks for the next one: delivery is
   * at-least-once, so the last event before a crash or a `break` may be delivered again.
   */
  checkpoint?: LedgerCheckpointStore;
}

export interface LedgerStatus {
  backend: LedgerBackend;
  /** Number of blocks. */
  height: number;
  /** Lowercase hex hash of the last block (64 zeros when the chain is empty). */
  headHash: string;
  /** Whether the chain was verified end to end (false when opened despite corruption). */
  verified: boolean;
  lastVerifiedAt?: Date;
}

/** What ledger this is: an id equal on every node that reads and writes the same chain, and words for people. */
export interface LedgerIdentity {
  readonly id: string;
  readonly description: string;
}

export interface SubmitOptions {
  /**
   * Called once, when the chaincode has executed and endorsed the transaction and before it is sent for
   * ordering; never when the chaincode refuses it. From then on it may commit even if the submit fails
   * (an orderer that did not answer, a lost commit status): state that must exist once it has committed
   * is written from here, while it is ordered (a block's wait), rather than after.
   */
  onEndorsed?: () => void;
}

export interface LedgerPort {
  start(): Promise<void>;
  /** Which ledger this is (after `start`): the database is bound to one (DeploymentBindings). */
  deploymentIdentity(): Promise<LedgerIdentity>;
  stop(): Promise<void>;
  /** Executes, orders and commits a transaction; resolves only once it is committed as valid. */
  submit(fn: string, args: string[], options?: SubmitOptions): Promise<SubmitResult>;
  /** Executes a read-only query against the committed state; nothing is ordered or committed. */
  evaluate(fn: string, args: string[]): Promise<Buffer>;
  /** Chaincode events from `fromBlock` on (or after the checkpoint), then live ones until `stop()`. */
  events(fromBlock: number, options?: EventsOptions): AsyncIterable<LedgerEvent>;
  status(): Promise<LedgerStatus>;
}
