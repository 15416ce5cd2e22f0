import { join } from 'node:path';
import { Client, credentials, status as GrpcStatus } from '@grpc/grpc-js';
import {
  CommitError,
  connect,
  GatewayError,
  hash,
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
  LedgerIdentity,
  LedgerPort,
  LedgerStatus,
  SubmitOptions,
  SubmitResult,
} from '../ports/ledger.port.js';
import type { LedgerLogger } from '../embedded/block-file.js';
import { ADMIN_ATTRIBUTE } from 'healthledger-chaincode/shared';
import { type FabricCredentials, loadFabricCredentials } from '../fabric/fabric-credentials.js';
import { FabricFileCheckpointStore } from '../fabric/fabric-checkpoint-store.js';
import { newNativeEcdsaSigner } from '../fabric/native-ecdsa-signer.js';
import { backoffDelayMs, DEFAULT_FABRIC_RETRY_POLICY, type RetryPolicy, withRetry } from '../fabric/retry-policy.js';

/** One peer of HealthLedger's own organization whose Gateway service it may use (FABRIC_PEER_ENDPOINTS). */
export interface FabricPeer {
  /** `host:port` of the peer's gateway service. */
  endpoint: string;
  /** TLS server name to expect when it differs from the endpoint host. */
  hostAlias?: string;
}

export interface FabricLedgerOptions {
  /**
   * The organization's peers, in order of preference (at least one). Every call goes to the peer that
   * answered last; one that cannot be reached (UNAVAILABLE, DEADLINE_EXCEEDED) hands the call to the next,
   * so one peer's outage costs a retry, not an outage. The gateway of each collects the other
   * organizations' endorsements itself.
   */
  peers: readonly FabricPeer[];
  /** CA certificate(s) of the peers' TLS certificates (FABRIC_TLS_CERT); without it gRPC is plaintext. */
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
 * Endorsement may also fail for a moment when the endorsing peers are at different block heights: the
 * gateway sees their simulations differ ("ProposalResponsePayloads do not match", ABORTED). Nothing was
 * ordered, so endorsing the same proposal again once the lagging peer has caught up is safe.
 */
const isTransientEndorseError = (err: unknown): boolean =>
  isTransientGatewayError(err) ||
  (err instanceof GatewayError && err.code === GrpcStatus.ABORTED && /ProposalResponsePayloads do not match/i.test(describeGatewayError(err)));

/** A connection to one peer's Gateway service, and the channel and contract as seen through it. */
interface PeerConnection {
  readonly peer: FabricPeer;
  readonly client: Client;
  readonly gateway: Gateway;
  readonly network: Network;
  readonly contract: Contract;
}

/**
 * LedgerPort over a Hyperledger Fabric peer's Gateway service (fabric-gateway 1.11 on grpc-js).
 *
 * Submission is split into its steps (endorse, submit, commit status) so each retries on its own
 * terms: a step that failed transiently is repeated with the same signed transaction, which keeps
 * a retry from ordering a second copy; an MVCC or phantom read conflict re-endorses against the new
 * state under a new transaction id. Chaincode refusals (`CODE: text`) are never retried. With several
 * peers configured, a step one peer cannot serve moves to the next with the same signed bytes (the
 * gateway API rebuilds a proposal, transaction or commit from them), so a failover never orders a
 * transaction twice.
 */
export class FabricLedger implements LedgerPort {
  private readonly options: FabricLedgerOptions & { connectTimeoutMs: number; retry: RetryPolicy };
  private readonly timeouts: Record<'evaluate' | 'endorse' | 'submit' | 'commitStatus', number>;
  private connections: PeerConnection[] = [];
  /** The peer that answered last: calls go there first. */
  private active = 0;
  private running = false;
  /** The head this node last saw, to tell a chain that moved on from one that went back or was rewritten. */
  private lastHead: { height: number; headHash: string } | undefined;
  private readonly openStreams = new Set<CloseableAsyncIterable<ChaincodeEvent>>();

  constructor(options: FabricLedgerOptions) {
    this.options = { connectTimeoutMs: 5_000, retry: DEFAULT_FABRIC_RETRY_POLICY, ...options };
    this.timeouts = { evaluate: 5_000, endorse: 15_000, submit: 5_000, commitStatus: 60_000, ...options.timeoutsMs };
  }

  async start(): Promise<void> {
    if (this.running) return;
    const { peers, channel, chaincode, logger } = this.options;
    if (peers.length === 0) throw new LedgerUnavailableError('No Fabric peer is configured (FABRIC_PEER_ENDPOINTS)');
    const creds = await loadFabricCredentials(this.options);
    if (creds.attributes[ADMIN_ATTRIBUTE] !== 'true') {
      // The chaincode refuses every write of such an identity as FORBIDDEN, which users would take for their own fault.
      throw new LedgerUnavailableError(
        `The Fabric identity ${this.options.certPath} (${creds.mspId}) lacks the certificate attribute ${ADMIN_ATTRIBUTE}=true ` +
          `that the chaincode requires of HealthLedger's writes: enroll it with Fabric CA --id.attrs '${ADMIN_ATTRIBUTE}=true:ecert'`,
      );
    }
    const connections = peers.map((peer) => this.connect(peer, creds));
    const probes = await Promise.allSettled(connections.map((connection) => this.probe(connection, creds)));
    const first = probes.findIndex((probe) => probe.status === 'fulfilled');
    if (first < 0) {
      for (const connection of connections) this.close(connection);
      const reasons = probes.map((probe) => ((probe as PromiseRejectedResult).reason as Error).message);
      throw new LedgerUnavailableError(reasons.join('; '), { cause: (probes[0] as PromiseRejectedResult).reason });
    }
    probes.forEach((probe) => {
      if (probe.status === 'rejected') {
        logger.warn(`${(probe.reason as Error).message}; using the other peers, and this one again when it answers`);
      }
    });
    this.connections = connections;
    this.active = first;
    this.running = true;
    logger.info(
      `Fabric ledger connected: ${peers.map((peer) => peer.endpoint).join(', ')} (using ${peers[first]!.endpoint}), ` +
        `channel ${channel}, chaincode ${chaincode} as ${creds.mspId}`,
    );
  }

  /** A gRPC client and gateway for one peer; grpc-js connects (and reconnects) on its own. */
  private connect(peer: FabricPeer, creds: FabricCredentials): PeerConnection {
    const client = new Client(
      peer.endpoint,
      creds.tlsRootCertPem ? credentials.createSsl(creds.tlsRootCertPem) : credentials.createInsecure(),
      peer.hostAlias ? { 'grpc.ssl_target_name_override': peer.hostAlias } : {},
    );
    const deadline = (ms: number) => () => ({ deadline: Date.now() + ms });
    const gateway = connect({
      client,
      identity: { mspId: creds.mspId, credentials: creds.certificatePem },
      // Native ECDSA on the whole message (see newNativeEcdsaSigner): the gateway hashes nothing itself.
      signer: newNativeEcdsaSigner(creds.privateKey),
      hash: hash.none,
      evaluateOptions: deadline(this.timeouts.evaluate),
      endorseOptions: deadline(this.timeouts.endorse),
      submitOptions: deadline(this.timeouts.submit),
      commitStatusOptions: deadline(this.timeouts.commitStatus),
    });
    const network = gateway.getNetwork(this.options.channel);
    return { peer, client, gateway, network, contract: network.getContract(this.options.chaincode) };
  }

  /**
   * One round trip through the whole path: the peer is reachable, accepts our identity on this channel,
   * and the chaincode answers. A refusal here is a configuration fault, reported as such.
   */
  private async probe(connection: PeerConnection, creds: FabricCredentials): Promise<void> {
    const { connectTimeoutMs, channel, chaincode } = this.options;
    const { endpoint } = connection.peer;
    try {
      await new Promise<void>((resolve, reject) =>
        connection.client.waitForReady(Date.now() + connectTimeoutMs, (err) => (err ? reject(err) : resolve())),
      );
    } catch (err) {
      throw new LedgerUnavailableError(
        `Fabric peer ${endpoint} is unreachable: no ${creds.tlsRootCertPem ? 'TLS ' : ''}connection within ` +
          `${connectTimeoutMs} ms (${(err as Error).message}). Check FABRIC_PEER_ENDPOINTS, that the peer runs` +
          (creds.tlsRootCertPem ? ', and that FABRIC_TLS_CERT and the TLS name in FABRIC_PEER_ENDPOINTS match its TLS certificate' : ''),
        { cause: err },
      );
    }
    try {
      await connection.contract.evaluate(CONTRACT_METADATA_FN);
    } catch (err) {
      throw new LedgerUnavailableError(
        `Fabric peer ${endpoint} refused HealthLedger's probe of chaincode "${chaincode}" on channel ` +
          `"${channel}" as ${creds.mspId} (certificate ${this.options.certPath}): ${describeGatewayError(err)}`,
        { cause: err },
      );
    }
  }

  private close(connection: PeerConnection): void {
    connection.gateway.close();
    connection.client.close();
  }

  /** Every node on this channel's chaincode shares its ledger, whichever of the organization's peers it uses. */
  async deploymentIdentity(): Promise<LedgerIdentity> {
    const { channel, chaincode } = this.options;
    return { id: `fabric:${channel}:${chaincode}`, description: `the Fabric channel "${channel}", chaincode "${chaincode}"` };
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.running = false;
    for (const stream of this.openStreams) stream.close();
    this.openStreams.clear();
    for (const connection of this.connections) this.close(connection);
    this.connections = [];
  }

  /** A durable position for an event consumer, kept in `checkpointDir` by fabric-gateway's file checkpointer. */
  checkpointStore(consumer: string): LedgerCheckpointStore {
    if (!/^[A-Za-z0-9._-]+$/.test(consumer)) throw new Error(`Invalid event consumer name "${consumer}"`);
    return new FabricFileCheckpointStore(join(this.options.checkpointDir, `${consumer}.checkpoint.json`));
  }

  async submit(fn: string, args: string[], options: SubmitOptions = {}): Promise<SubmitResult> {
    const { retry, logger } = this.options;
    // Once: a transaction invalidated at commit is endorsed again below.
    let onEndorsed = options.onEndorsed;
    const retryTransient = <T>(step: string, isTransient: (err: unknown) => boolean, operation: () => Promise<T>) =>
      withRetry(retry, isTransient, operation, (err, attempt, delayMs) =>
        logger.warn(`Fabric ${step} of ${fn} failed (attempt ${attempt}), retrying in ${delayMs} ms: ${describeGatewayError(err)}`),
      );
    try {
      return await withRetry(
        retry,
        (err) => err instanceof CommitError && CONFLICT_STATUS_CODES.has(err.code),
        async () => {
          // Each step is rebuilt from the previous step's bytes on whichever peer serves it: same transaction id throughout.
          const proposal = this.current().contract.newProposal(fn, { arguments: args }).getBytes();
          const transaction = await retryTransient('endorse', isTransientEndorseError, () =>
            this.onAnyPeer((peer) => peer.gateway.newProposal(proposal).endorse(), isTransientEndorseError),
          );
          const prepared = transaction.getBytes();
          onEndorsed?.();
          onEndorsed = undefined;
          const submitted = await retryTransient('submit', isTransientGatewayError, () =>
            this.onAnyPeer((peer) => peer.gateway.newTransaction(prepared).submit()),
          );
          const commit = submitted.getBytes();
          const status = await retryTransient('commit status', isTransientGatewayError, () =>
            this.onAnyPeer((peer) => peer.gateway.newCommit(commit).getStatus()),
          );
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
            result: Buffer.from(transaction.getResult()),
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
    try {
      const result = await withRetry(this.options.retry, isTransientGatewayError, () =>
        this.onAnyPeer((peer) => peer.contract.evaluate(fn, { arguments: args })),
      );
      return Buffer.from(result);
    } catch (err) {
      throw this.toLedgerError(err, fn);
    }
  }

  events(fromBlock: number, options: EventsOptions = {}): AsyncIterable<LedgerEvent> {
    return { [Symbol.asyncIterator]: () => this.eventStream(fromBlock, options.checkpoint) };
  }

  /**
   * The channel's height and head hash as a peer reports them. Every Fabric peer checks each block's
   * hash chain and signatures before committing it; what this node checks is that the head it is shown
   * only moves forward: a lower height, or another hash at a height seen before (a peer swapped, rolled
   * back or rewritten), is `verified: false` until the chain moves past it. `lastVerifiedAt` says when.
   */
  async status(): Promise<LedgerStatus> {
    try {
      const info = common.BlockchainInfo.deserializeBinary(
        await withRetry(this.options.retry, isTransientGatewayError, () =>
          this.onAnyPeer((peer) => peer.network.getContract('qscc').evaluate('GetChainInfo', { arguments: [this.options.channel] })),
        ),
      );
      const head = { height: info.getHeight(), headHash: Buffer.from(info.getCurrentblockhash_asU8()).toString('hex') };
      const seen = this.lastHead;
      const verified = !seen || head.height > seen.height || (head.height === seen.height && head.headHash === seen.headHash);
      if (verified) this.lastHead = head;
      else this.options.logger.error(`Fabric ledger head went from height ${seen!.height} (${seen!.headHash}) to ${head.height} (${head.headHash})`);
      return { backend: 'fabric', ...head, verified, lastVerifiedAt: new Date() };
    } catch (err) {
      throw this.toLedgerError(err, 'qscc:GetChainInfo');
    }
  }

  /**
   * Runs `operation` on the peer that answered last, else on each other peer in turn, moving on only
   * when a peer cannot be reached (`isTransient`); the first peer that serves becomes the one used next.
   * When none can, the last error goes to the caller's retry with backoff.
   */
  private async onAnyPeer<T>(operation: (peer: PeerConnection) => Promise<T>, isTransient = isTransientGatewayError): Promise<T> {
    const connections = this.requireConnections();
    const start = this.active;
    let lastError: unknown;
    for (let offset = 0; offset < connections.length; offset++) {
      const index = (start + offset) % connections.length;
      try {
        const result = await operation(connections[index]!);
        if (index !== this.active) {
          this.options.logger.warn(`Fabric peer ${connections[this.active]!.peer.endpoint} did not answer: now using ${connections[index]!.peer.endpoint}`);
          this.active = index;
        }
        return result;
      } catch (err) {
        if (!isTransient(err)) throw err;
        lastError = err;
      }
    }
    throw lastError;
  }

  /**
   * Streams chaincode events; a stream broken by a transient fault reopens after the last event it
   * delivered, with backoff, so a peer restart costs a pause, not a gap or a duplicate.
   */
  private async *eventStream(fromBlock: number, store?: LedgerCheckpointStore): AsyncGenerator<LedgerEvent> {
    this.requireConnections();
    let position: LedgerCheckpoint | undefined = await store?.load();
    for (let failures = 0; this.running; ) {
      const checkpoint: Checkpoint | undefined = position && {
        getBlockNumber: () => BigInt(position!.blockNumber),
        getTransactionId: () => position!.txId,
      };
      let stream: CloseableAsyncIterable<ChaincodeEvent> | undefined;
      const peer = this.active;
      try {
        stream = await this.current().network.getChaincodeEvents(this.options.chaincode, {
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
        // Reopened on the next peer, if another is configured: the one that broke the stream may be gone.
        if (this.active === peer) this.active = (peer + 1) % this.connections.length;
        const delayMs = backoffDelayMs(this.options.retry, failures);
        this.options.logger.warn(
          `Fabric event stream interrupted, reopening on ${this.current().peer.endpoint} in ${delayMs} ms: ${describeGatewayError(err)}`,
        );
        await new Promise((resolve) => setTimeout(resolve, delayMs));
      } finally {
        if (stream) {
          stream.close();
          this.openStreams.delete(stream);
        }
      }
    }
  }

  private requireConnections(): PeerConnection[] {
    if (!this.running || this.connections.length === 0) throw new LedgerUnavailableError('The Fabric ledger is not started');
    return this.connections;
  }

  private current(): PeerConnection {
    return this.requireConnections()[this.active]!;
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
        const peers = this.options.peers.map((peer) => peer.endpoint).join(', ');
        return new LedgerUnavailableError(`Fabric peer${this.options.peers.length > 1 ? 's' : ''} ${peers} unavailable for ${fn}: ${describeGatewayError(err)}`, {
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
