import { join } from 'node:path';
import { Client, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import {
  CommitError,
  connect,
  GatewayError,
  hash,
  signers,
  StatusCode,
  type ChaincodeEvent,
  type Checkpoint,
  type CloseableAsyncIterable,
  type Contract,
  type Gateway,
  type Network,
} from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import {
  LedgerConflictError,
  LedgerError,
  LedgerInternalError,
  LedgerUnavailableError,
  ledgerErrorFromChaincodeMessage,
} from '../ledger.errors.js';
import type {
  EventsOptions,
  LedgerCheckpoint,
  LedgerCheckpointStore,
  LedgerEvent,
  LedgerPort,
  LedgerStatus,
  SubmitResult,
} from '../ports/ledger.port.js';
import type { LedgerLogger } from '../embedded/block-file.js';
import { loadFabricCredentials } from '../fabric/fabric-credentials.js';
import { FabricFileCheckpointStore } from '../fabric/fabric-checkpoint-store.js';
import { backoffDelayMs, DEFAULT_FABRIC_RETRY_POLICY, type RetryPolicy, withRetry } from '../fabric/retry-policy.js';

export interface FabricLedgerOptions {
  /** `host:port` of the peer's gateway service (FABRIC_PEER_ENDPOINT). */
  peerEndpoint: string;
  /** TLS server name to expect when it differs from the endpoint host (FABRIC_PEER_HOST_ALIAS). */
  peerHostAlias?: string;
  /** CA certificate of the peer's TLS certificate (FABRIC_TLS_CERT); without it gRPC is plaintext. */
  tlsCertPath?: string;
  mspId: string;
  certPath: string;
  keyPath: string;
  channel: string;
  chaincode: string;
  /** Where `checkpointStore(name)` keeps event consumers' positions. */
  checkpointDir: string;
  logger: LedgerLogger;
  /** How long `start()` waits for the peer before refusing to boot (default 5000 ms). */
  connectTimeoutMs?: number;
  retry?: RetryPolicy;
  /** Per-call deadlines (defaults: evaluate 5 s, endorse 15 s, submit 5 s, commit status 60 s). */
  timeoutsMs?: Partial<Record<'evaluate' | 'endorse' | 'submit' | 'commitStatus', number>>;
}

/** The function every fabric-contract-api chaincode has: proves at boot that the chaincode answers. */
const CONTRACT_METADATA_FN = 'org.hyperledger.fabric:GetMetadata';

const TRANSIENT_GRPC_CODES: ReadonlySet<number> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);
const CONFLICT_STATUS_CODES: ReadonlySet<number> = new Set([
  StatusCode.MVCC_READ_CONFLICT,
  StatusCode.PHANTOM_READ_CONFLICT,
]);

const isTransientGatewayError = (err: unknown): boolean =>
  err instanceof GatewayError && TRANSIENT_GRPC_CODES.has(err.code);

/**
 * LedgerPort over a Hyperledger Fabric peer's Gateway service (fabric-gateway 1.11 on grpc-js).
 *
 * Submission is split into its steps (endorse, submit, commit status) so each retries on its own
 * terms: a step that failed transiently is repeated with the same signed transaction, which keeps
 * a retry from ordering a second copy; an MVCC or phantom read conflict re-endorses against the new
 * state under a new transaction id. Chaincode refusals (`CODE: text`) are never retried.
 */
export class FabricLedger implements LedgerPort {
  private readonly options: FabricLedgerOptions & { connectTimeoutMs: number; retry: RetryPolicy };
  private readonly timeouts: Record<'evaluate' | 'endorse' | 'submit' | 'commitStatus', number>;
  private client: Client | undefined;
  private gateway: Gateway | undefined;
  private network: Network | undefined;
  private contract: Contract | undefined;
  private running = false;
  private readonly openStreams = new Set<CloseableAsyncIterable<ChaincodeEvent>>();

  constructor(options: FabricLedgerOptions) {
    this.options = { connectTimeoutMs: 5_000, retry: DEFAULT_FABRIC_RETRY_POLICY, ...options };
    this.timeouts = { evaluate: 5_000, endorse: 15_000, submit: 5_000, commitStatus: 60_000, ...options.timeoutsMs };
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { peerEndpoint, peerHostAlias, channel, chaincode, connectTimeoutMs, logger } = this.options;
    const creds = await loadFabricCredentials(this.options);
    const client = new Client(
      peerEndpoint,
      creds.tlsRootCertPem ? credentials.createSsl(creds.tlsRootCertPem) : credentials.createInsecure(),
      peerHostAlias ? { 'grpc.ssl_target_name_override': peerHostAlias } : {},
    );
    try {
      await new Promise<void>((resolve, reject) =>
        client.waitForReady(Date.now() + connectTimeoutMs, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      client.close();
      throw new LedgerUnavailableError(
        `Fabric peer ${peerEndpoint} is unreachable: no ${creds.tlsRootCertPem ? 'TLS ' : ''}connection within ` +
          `${connectTimeoutMs} ms (${(err as Error).message}). Check FABRIC_PEER_ENDPOINT, that the peer runs` +
          (creds.tlsRootCertPem ? ', and that FABRIC_TLS_CERT / FABRIC_PEER_HOST_ALIAS match its TLS certificate' : ''),
        { cause: err },
      );
    }
    const deadline = (ms: number) => () => ({ deadline: Date.now() + ms });
    const gateway = connect({
      client,
      identity: { mspId: creds.mspId, credentials: creds.certificatePem },
      signer: signers.newPrivateKeySigner(creds.privateKey),
      hash: hash.sha256,
      evaluateOptions: deadline(this.timeouts.evaluate),
      endorseOptions: deadline(this.timeouts.endorse),
      submitOptions: deadline(this.timeouts.submit),
      commitStatusOptions: deadline(this.timeouts.commitStatus),
    });
    const network = gateway.getNetwork(channel);
    const contract = network.getContract(chaincode);
    try {
      // One round trip through the whole path: the peer accepts our identity on this channel and
      // the chaincode answers. A refusal here is a configuration fault, reported as such.
      await contract.evaluate(CONTRACT_METADATA_FN);
    } catch (err) {
      gateway.close();
      client.close();
      throw new LedgerUnavailableError(
        `Fabric peer ${peerEndpoint} refused HealthLedger's probe of chaincode "${chaincode}" on channel ` +
          `"${channel}" as ${creds.mspId} (certificate ${this.options.certPath}): ${describeGatewayError(err)}`,
        { cause: err },
      );
    }
    this.client = client;
    this.gateway = gateway;
    this.network = network;
    this.contract = contract;
    this.running = true;
    logger.info(`Fabric ledger connected: ${peerEndpoint}, channel ${channel}, chaincode ${chaincode} as ${creds.mspId}`);
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const stream of this.openStreams) stream.close();
    this.openStreams.clear();
    this.gateway?.close();
    this.client?.close();
    this.gateway = this.network = this.contract = this.client = undefined;
  }

  /** A durable position for an event consumer, kept in `checkpointDir` by fabric-gateway's file checkpointer. */
  checkpointStore(consumer: string): LedgerCheckpointStore {
    if (!/^[A-Za-z0-9._-]+$/.test(consumer)) throw new Error(`Invalid event consumer name "${consumer}"`);
    return new FabricFileCheckpointStore(join(this.options.checkpointDir, `${consumer}.checkpoint.json`));
  }

  async submit(fn: string, args: string[]): Promise<SubmitResult> {
    const contract = this.requireContract();
    const { retry, logger } = this.options;
    const retryTransient = <T>(step: string, operation: () => Promise<T>) =>
      withRetry(retry, isTransientGatewayError, operation, (err, attempt, delayMs) =>
        logger.warn(`Fabric ${step} of ${fn} failed (attempt ${attempt}), retrying in ${delayMs} ms: ${describeGatewayError(err)}`),
      );
    try {
      return await withRetry(
        retry,
        (err) => err instanceof CommitError && CONFLICT_STATUS_CODES.has(err.code),
        async () => {
          const proposal = contract.newProposal(fn, { arguments: args });
          const transaction = await retryTransient('endorse', () => proposal.endorse());
          const submitted = await retryTransient('submit', () => transaction.submit());
          const status = await retryTransient('commit status', () => submitted.getStatus());
          if (!status.successful) {
            throw new CommitError({
              code: status.code,
              transactionId: status.transactionId,
              message: `Transaction ${status.transactionId} failed to commit with status code ${status.code} (${statusName(status.code)})`,
            });
          }
          return {
            txId: status.transactionId,
            blockNumber: Number(status.blockNumber),
            result: Buffer.from(submitted.getResult()),
          };
        },
        (err, attempt, delayMs) =>
          logger.warn(`Fabric submit of ${fn} invalidated (attempt ${attempt}), re-endorsing in ${delayMs} ms: ${(err as Error).message}`),
      );
    } catch (err) {
      throw this.toLedgerError(err, fn);
    }
  }

  async evaluate(fn: string, args: string[]): Promise<Buffer> {
    const contract = this.requireContract();
    try {
      const result = await withRetry(this.options.retry, isTransientGatewayError, () =>
        contract.evaluate(fn, { arguments: args }),
      );
      return Buffer.from(result);
    } catch (err) {
      throw this.toLedgerError(err, fn);
    }
  }

  events(fromBlock: number, options: EventsOptions = {}): AsyncIterable<LedgerEvent> {
    return { [Symbol.asyncIterator]: () => this.eventStream(fromBlock, options.checkpoint) };
  }

  async status(): Promise<LedgerStatus> {
    const network = this.requireNetwork();
    try {
      const info = common.BlockchainInfo.deserializeBinary(
        await withRetry(this.options.retry, isTransientGatewayError, () =>
          network.getContract('qscc').evaluate('GetChainInfo', { arguments: [this.options.channel] }),
        ),
      );
      return {
        backend: 'fabric',
        height: info.getHeight(),
        headHash: Buffer.from(info.getCurrentblockhash_asU8()).toString('hex'),
        // Every Fabric peer checks each block's hash chain and signatures before committing it.
        verified: true,
      };
    } catch (err) {
      throw this.toLedgerError(err, 'qscc:GetChainInfo');
    }
  }

  /**
   * Streams chaincode events; a stream broken by a transient fault reopens after the last event it
   * delivered, with backoff, so a peer restart costs a pause, not a gap or a duplicate.
   */
  private async *eventStream(fromBlock: number, store?: LedgerCheckpointStore): AsyncGenerator<LedgerEvent> {
    const network = this.requireNetwork();
    let position: LedgerCheckpoint | undefined = await store?.load();
    for (let failures = 0; this.running; ) {
      const checkpoint: Checkpoint | undefined = position && {
        getBlockNumber: () => BigInt(position!.blockNumber),
        getTransactionId: () => position!.txId,
      };
      let stream: CloseableAsyncIterable<ChaincodeEvent> | undefined;
      try {
        stream = await network.getChaincodeEvents(this.options.chaincode, {
          startBlock: BigInt(Math.max(0, fromBlock)),
          checkpoint,
        });
        this.openStreams.add(stream);
        for await (const event of stream) {
          failures = 0;
          const delivered = { blockNumber: Number(event.blockNumber), txId: event.transactionId };
          yield { ...delivered, eventName: event.eventName, payload: Buffer.from(event.payload) };
          // The consumer asked for the next event: the previous one is processed.
          position = delivered;
          await store?.save(delivered);
        }
      } catch (err) {
        if (!this.running) return;
        if (!isTransientGatewayError(err) || ++failures >= this.options.retry.maxAttempts) {
          throw this.toLedgerError(err, 'chaincode events');
        }
        const delayMs = backoffDelayMs(this.options.retry, failures);
        this.options.logger.warn(`Fabric event stream interrupted, reopening in ${delayMs} ms: ${describeGatewayError(err)}`);
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      } finally {
        if (stream) {
          stream.close();
          this.openStreams.delete(stream);
        }
      }
    }
  }

  private requireNetwork(): Network {
    if (!this.running || !this.network) throw new LedgerUnavailableError('The Fabric ledger is not started');
    return this.network;
  }

  private requireContract(): Contract {
    if (!this.running || !this.contract) throw new LedgerUnavailableError('The Fabric ledger is not started');
    return this.contract;
  }

  private toLedgerError(err: unknown, fn: string): LedgerError {
    if (err instanceof LedgerError) return err;
    if (err instanceof CommitError) {
      if (CONFLICT_STATUS_CODES.has(err.code)) {
        return new LedgerConflictError(`${fn} was invalidated (${statusName(err.code)}) on every attempt`);
      }
      return new LedgerInternalError(`${fn}: transaction ${err.transactionId} was invalidated by the peer (${statusName(err.code)})`);
    }
    if (err instanceof GatewayError) {
      if (TRANSIENT_GRPC_CODES.has(err.code) || err.code === GrpcStatus.CANCELLED) {
        return new LedgerUnavailableError(`Fabric peer ${this.options.peerEndpoint} unavailable for ${fn}: ${describeGatewayError(err)}`, {
          cause: err,
        });
      }
      // The chaincode's message sits in an endorser's detail (Endorse) or in the message (Evaluate).
      for (const message of [...err.details.map((d) => d.message), err.message]) {
        const mapped = ledgerErrorFromChaincodeMessage(message);
        if (!(mapped instanceof LedgerInternalError)) return mapped;
      }
      return new LedgerInternalError(`${fn}: ${describeGatewayError(err)}`);
    }
    return new LedgerInternalError(`${fn}: ${(err as Error)?.message ?? String(err)}`);
  }
}

function describeGatewayError(err: unknown): string {
  if (!(err instanceof GatewayError)) return (err as Error)?.message ?? String(err);
  const details = err.details.map((d) => `${d.mspId}@${d.address}: ${d.message}`);
  const code = GrpcStatus[err.code] ?? String(err.code);
  return `${code}: ${err.message}${details.length ? ` [${details.join('; ')}]` : ''}`;
}

function statusName(code: number): string {
  return Object.entries(StatusCode).find(([, value]) => value === code)?.[0] ?? String(code);
}
