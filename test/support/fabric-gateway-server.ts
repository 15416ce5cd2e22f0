import { createHash, createPrivateKey, KeyObject, sign, verify, X509Certificate } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import {
  Metadata,
  Server,
  ServerCredentials,
  status as GrpcStatus,
  type sendUnaryData,
  type ServerUnaryCall,
  type ServerWritableStream,
} from '@grpc/grpc-js';
import { common, gateway, google, ledger, msp, peer } from '@hyperledger/fabric-protos';
import { JSONSerializer } from 'fabric-contract-api';
import { Block, BlockFile, LedgerLogger, TransactionRecord, TxVersion } from '../../src/ledger/embedded/block-file.js';
import { EmbeddedChaincodeStub, ReadWriteSet } from '../../src/ledger/embedded/chaincode-stub.js';
import { createEmbeddedIdentity } from '../../src/ledger/embedded/embedded-identity.js';
import { validateBlock } from '../../src/ledger/embedded/mvcc-validation.js';
import { WorldState } from '../../src/ledger/embedded/world-state.js';
import type { IssuedCertificate } from './fabric-ca.js';

/*
 * A Fabric peer's Gateway service (gateway.Gateway: Evaluate, Endorse, Submit, CommitStatus,
 * ChaincodeEvents) over the embedded ledger's building blocks, so FabricLedger is exercised on the
 * real wire protocol with real protobuf messages and real X.509 signatures.
 *
 * It acts as the gateway, the one endorsing peer and a solo orderer:
 *  - Proposals and envelopes are checked the way a peer and an orderer check them: the creator
 *    (msp.SerializedIdentity) must chain to the CA of a known MSP, the ECDSA signature (DER, low-S)
 *    must verify against the creator's certificate, and the transaction id must equal
 *    SHA-256(nonce || creator).
 *  - Endorse executes the real chaincode (fabric-shim's contract dispatch over EmbeddedChaincodeStub)
 *    with the client's transaction id and identity, encodes the read-write set as kvrwset protobuf,
 *    signs the proposal response as the peer and assembles the transaction envelope.
 *  - Submit verifies the client's envelope signature and the peer's endorsement, then orders the
 *    transaction from what the envelope carries; blocks are MVCC-validated and appended to the
 *    embedded hash-chained block file, so a restart over the same directory keeps the chain.
 *  - Refusals use the status codes Fabric's gateway uses (internal/pkg/gateway/api.go).
 *
 * The embedded ledger's adapter cannot be served as it is: its transaction ids are its own and its
 * execute and commit steps are not separable, while Fabric's client chooses the id and signs between
 * the two.
 */

const requireCjs = createRequire(import.meta.url);
const ChaincodeFromContract = requireCjs('fabric-shim/lib/contract-spi/chaincodefromcontract.js') as new (
  contracts: Array<new () => object>,
  serializers: { transaction: string; serializers: Record<string, unknown> },
  metadata: object,
  title: string,
  version: string,
) => { Invoke(stub: EmbeddedChaincodeStub): Promise<{ status: number; message?: string; payload?: Uint8Array }> };
// google.protobuf.Any, from the copy of google-protobuf that fabric-protos itself uses.
const { Any } = createRequire(requireCjs.resolve('@hyperledger/fabric-protos'))('google-protobuf/google/protobuf/any_pb.js') as {
  Any: new () => { setTypeUrl(url: string): void; setValue(value: Uint8Array): void };
};

const { TxValidationCode } = peer;
type ValidationCode = (typeof TxValidationCode)[keyof typeof TxValidationCode];

export interface FabricGatewayServerOptions {
  /** Block file directory; reuse it to restart the "network" with its chain. */
  dataDir: string;
  channel: string;
  chaincode: string;
  /** MSP id → PEM certificate of the CA whose members it admits. */
  msps: Record<string, string>;
  /** The endorsing peer's signing identity (its certificate must chain to one of `msps`). */
  peer: IssuedCertificate & { mspId: string };
  /** TLS server certificate; without it the server speaks plaintext gRPC. */
  tls?: IssuedCertificate;
  /** 0 (default) picks a free port. */
  port?: number;
  logger: LedgerLogger;
  /**
   * The orderer's block cutting, as `Orderer.BatchTimeout` and `BatchSize.MaxMessageCount` in
   * configtx.yaml: a block is cut when it holds `maxMessageCount` transactions or `batchTimeoutMs` after
   * the first one entered it. 0 (the default, for tests) cuts at once, so a submit costs only CPU; the
   * benches use the shipped channel's 200 ms, so a submit waits for its block as on a real network.
   */
  batchTimeoutMs?: number;
  /** Default 500, as fabric/config/configtx.yaml. */
  maxMessageCount?: number;
}

interface VerifiedCreator {
  mspId: string;
  certificatePem: string;
  serialized: Uint8Array;
}

interface TxStatus {
  blockNumber: number;
  code: ValidationCode;
}

class AccessDenied extends Error {}

export class FabricGatewayTestServer {
  private readonly server = new Server();
  private readonly cas = new Map<string, X509Certificate>();
  private readonly peerKey: KeyObject;
  private readonly peerSerialized: Uint8Array;
  private readonly statuses = new Map<string, TxStatus>();
  private readonly statusWaiters = new Map<string, Array<() => void>>();
  private readonly pendingTxIds = new Set<string>();
  private blockWaiters: Array<() => void> = [];
  private queue: TransactionRecord[] = [];
  private ordering: Promise<void> | undefined;
  /** Cuts the pending block before its timeout (it is full, or the server stops). */
  private cutNow: (() => void) | undefined;
  private readonly activeStreams = new Set<ServerWritableStream<unknown, unknown>>();
  /** Calls served, by method: lets tests see that the adapter really went over this wire. */
  readonly calls = { Evaluate: 0, Endorse: 0, Submit: 0, CommitStatus: 0, ChaincodeEvents: 0 };
  port = 0;
  private stopped = false;
  private credentials: ServerCredentials | undefined;
  /** Faults the next Endorse calls answer with, in order (see `failNextEndorsements`). */
  private readonly endorseFaults: RpcError[] = [];

  private constructor(
    private readonly options: FabricGatewayServerOptions,
    private readonly blockFile: BlockFile,
    private readonly worldState: WorldState,
    private readonly chaincode: InstanceType<typeof ChaincodeFromContract>,
  ) {
    for (const [mspId, pem] of Object.entries(options.msps)) this.cas.set(mspId, new X509Certificate(pem));
    this.peerKey = createPrivateKey(options.peer.privateKeyPem);
    this.peerSerialized = serializedIdentity(options.peer.mspId, options.peer.certificatePem);
  }

  static async start(options: FabricGatewayServerOptions): Promise<FabricGatewayTestServer> {
    const { contracts } = (await import('healthledger-chaincode')) as { contracts: Array<new () => object> };
    const chaincode = new ChaincodeFromContract(
      [...contracts],
      { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } },
      {},
      options.chaincode,
      '',
    );
    const blockFile = await BlockFile.open(join(options.dataDir, 'blocks.bin'), { logger: options.logger });
    const worldState = new WorldState();
    const server = new FabricGatewayTestServer(options, blockFile, worldState, chaincode);
    for (let n = 0; n < blockFile.height; n++) server.applyBlock(await blockFile.readBlock(n));
    await server.listen();
    return server;
  }

  get address(): string {
    return `localhost:${this.port}`;
  }

  get height(): number {
    return this.blockFile.height;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const stream of this.activeStreams) stream.end();
    await new Promise<void>((resolve) => this.server.tryShutdown(() => resolve()));
    this.server.forceShutdown();
    this.cutNow?.();
    await this.ordering;
    this.blockWaiters.forEach((wake) => wake());
    await this.blockFile.close();
  }

  /**
   * Serves the same peer on one more port: a second peer of the organization, for failover tests (both
   * answer from one chain, as two peers of a channel at the same height do). Returns its address.
   */
  async addEndpoint(): Promise<string> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', this.credentials!, (err, bound) => (err ? reject(err) : resolve(bound))),
    );
    return `localhost:${port}`;
  }

  /** Takes one address down as a crashed peer would go: connections cut, nothing accepted until `stop`. */
  closeEndpoint(address: string): void {
    const port = `127.0.0.1:${address.split(':').at(-1)}`;
    this.server.drain(port, 0);
    this.server.unbind(port);
  }

  /**
   * The next `count` Endorse calls fail with `message` and gRPC `code` before anything runs, e.g. what a
   * real gateway answers when the endorsing peers' results differ because one lags behind
   * (ABORTED "failed to assemble transaction: ProposalResponsePayloads do not match").
   */
  failNextEndorsements(count: number, code: number, message: string): void {
    for (let i = 0; i < count; i++) this.endorseFaults.push(rpcError(code, message));
  }

  private async listen(): Promise<void> {
    const { tls } = this.options;
    const creds = tls
      ? ServerCredentials.createSsl(null, [
          { cert_chain: Buffer.from(tls.certificatePem), private_key: Buffer.from(tls.privateKeyPem) },
        ])
      : ServerCredentials.createInsecure();
    this.credentials = creds;
    this.server.addService(gateway.GatewayService, {
      evaluate: this.unary('Evaluate', (req: gateway.EvaluateRequest) => this.evaluate(req)),
      endorse: this.unary('Endorse', (req: gateway.EndorseRequest) => this.endorse(req)),
      submit: this.unary('Submit', (req: gateway.SubmitRequest) => this.submit(req)),
      commitStatus: this.unary('CommitStatus', (req: gateway.SignedCommitStatusRequest) => this.commitStatus(req)),
      chaincodeEvents: (call: ServerWritableStream<gateway.SignedChaincodeEventsRequest, gateway.ChaincodeEventsResponse>) => {
        this.calls.ChaincodeEvents++;
        this.chaincodeEvents(call).catch((err: unknown) => call.destroy(toServiceError(err)));
      },
    });
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${this.options.port ?? 0}`, creds, (err, port) => (err ? reject(err) : resolve(port))),
    );
  }

  private unary<Req, Res>(name: keyof FabricGatewayTestServer['calls'], handler: (req: Req) => Promise<Res>) {
    return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => {
      this.calls[name]++;
      handler(call.request).then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err)),
      );
    };
  }

  // --- Gateway methods ---------------------------------------------------------------------------

  private async evaluate(request: gateway.EvaluateRequest): Promise<gateway.EvaluateResponse> {
    // The gateway's responseStatus(): an endorser's own refusal is FAILED_PRECONDITION, not retried.
    const proposal = this.unpackProposal(request.getProposedTransaction(), (reason) =>
      rpcError(GrpcStatus.FAILED_PRECONDITION, `evaluate call to endorser returned error: ${reason}`, [this.errorDetail(reason)]),
    );
    this.requireDefinedChaincode(proposal, 'evaluate');
    const response = new peer.Response();
    if (proposal.chaincodeId === 'qscc') {
      response.setStatus(200);
      response.setPayload(this.systemQuery(proposal.args));
    } else {
      const outcome = await this.simulate(proposal);
      if (outcome.status !== 200) {
        throw rpcError(GrpcStatus.UNKNOWN, `evaluate call to endorser returned error: chaincode response ${outcome.status}, ${outcome.message}`, [
          this.errorDetail(`chaincode response ${outcome.status}, ${outcome.message}`),
        ]);
      }
      response.setStatus(200);
      response.setPayload(outcome.payload);
    }
    const result = new gateway.EvaluateResponse();
    result.setResult(response);
    return result;
  }

  private async endorse(request: gateway.EndorseRequest): Promise<gateway.EndorseResponse> {
    const fault = this.endorseFaults.shift();
    if (fault) throw fault;
    // planFromFirstEndorser(): the only endorser refused, so no endorsement plan is left: ABORTED.
    const proposal = this.unpackProposal(request.getProposedTransaction(), (reason) =>
      rpcError(GrpcStatus.ABORTED, 'failed to endorse transaction, see attached details for more info', [this.errorDetail(reason)]),
    );
    this.requireDefinedChaincode(proposal, 'endorse');
    const outcome = await this.simulate(proposal);
    if (outcome.status !== 200) {
      throw rpcError(GrpcStatus.ABORTED, 'failed to endorse transaction, see attached details for more info', [
        this.errorDetail(`chaincode response ${outcome.status}, ${outcome.message}`),
      ]);
    }
    const chaincodeAction = new peer.ChaincodeAction();
    chaincodeAction.setResults(encodeRwset(this.options.chaincode, outcome.rwset).serializeBinary());
    if (outcome.rwset.event) {
      const event = new peer.ChaincodeEvent();
      event.setChaincodeId(this.options.chaincode);
      event.setTxId(proposal.txId);
      event.setEventName(outcome.rwset.event.name);
      event.setPayload(outcome.rwset.event.payload);
      chaincodeAction.setEvents(event.serializeBinary());
    }
    const response = new peer.Response();
    response.setStatus(200);
    response.setPayload(outcome.payload);
    chaincodeAction.setResponse(response);
    const chaincodeId = new peer.ChaincodeID();
    chaincodeId.setName(this.options.chaincode);
    chaincodeAction.setChaincodeId(chaincodeId);

    const payloadNoTransient = new peer.ChaincodeProposalPayload();
    payloadNoTransient.setInput(proposal.input);
    const payloadBytes = payloadNoTransient.serializeBinary();
    const responsePayload = new peer.ProposalResponsePayload();
    responsePayload.setProposalHash(sha256(proposal.channelHeaderBytes, proposal.signatureHeaderBytes, payloadBytes));
    responsePayload.setExtension$(chaincodeAction.serializeBinary());
    const responsePayloadBytes = responsePayload.serializeBinary();
    const endorsement = new peer.Endorsement();
    endorsement.setEndorser(this.peerSerialized);
    endorsement.setSignature(signLowS(Buffer.concat([responsePayloadBytes, this.peerSerialized]), this.peerKey));

    const endorsedAction = new peer.ChaincodeEndorsedAction();
    endorsedAction.setProposalResponsePayload(responsePayloadBytes);
    endorsedAction.setEndorsementsList([endorsement]);
    const actionPayload = new peer.ChaincodeActionPayload();
    actionPayload.setChaincodeProposalPayload(payloadBytes);
    actionPayload.setAction(endorsedAction);
    const action = new peer.TransactionAction();
    action.setHeader(proposal.signatureHeaderBytes);
    action.setPayload(actionPayload.serializeBinary());
    const transaction = new peer.Transaction();
    transaction.setActionsList([action]);
    const payload = new common.Payload();
    payload.setHeader(proposal.header);
    payload.setData(transaction.serializeBinary());
    const envelope = new common.Envelope();
    envelope.setPayload(payload.serializeBinary());
    const result = new gateway.EndorseResponse();
    result.setPreparedTransaction(envelope);
    return result;
  }

  private async submit(request: gateway.SubmitRequest): Promise<gateway.SubmitResponse> {
    const envelope = request.getPreparedTransaction();
    if (!envelope) throw rpcError(GrpcStatus.INVALID_ARGUMENT, 'a prepared transaction is required');
    if (envelope.getSignature_asU8().length === 0) throw rpcError(GrpcStatus.INVALID_ARGUMENT, 'prepared transaction must be signed');
    const ordererRefusal = (info: string) =>
      rpcError(GrpcStatus.ABORTED, `received unsuccessful response from orderer: status=FORBIDDEN, info=${info}`);
    const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
    const header = payload.getHeader();
    if (!header) throw ordererRefusal('missing header');
    const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
    let creator: VerifiedCreator;
    try {
      creator = this.verifyCreator(signatureHeader.getCreator_asU8());
      verifySignature(creator.certificatePem, envelope.getPayload_asU8(), envelope.getSignature_asU8());
    } catch (err) {
      if (err instanceof AccessDenied) throw ordererRefusal(`implicit policy evaluation failed: ${err.message}`);
      throw err;
    }
    const txId = channelHeader.getTxId();
    if (channelHeader.getChannelId() !== this.options.channel) throw ordererRefusal(`unknown channel ${channelHeader.getChannelId()}`);
    // A re-sent transaction (a client retrying Submit) is ordered once; its status is the first copy's.
    if (this.statuses.has(txId) || this.pendingTxIds.has(txId)) return new gateway.SubmitResponse();

    const [action] = peer.Transaction.deserializeBinary(payload.getData_asU8()).getActionsList();
    const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
    const endorsed = actionPayload.getAction();
    const proposalPayload = peer.ChaincodeProposalPayload.deserializeBinary(actionPayload.getChaincodeProposalPayload_asU8());
    const args = invocationArgs(proposalPayload.getInput_asU8()).args;
    const responsePayloadBytes = endorsed?.getProposalResponsePayload_asU8() ?? new Uint8Array();
    const chaincodeAction = peer.ChaincodeAction.deserializeBinary(
      peer.ProposalResponsePayload.deserializeBinary(responsePayloadBytes).getExtension_asU8(),
    );
    const timestamp = channelHeader.getTimestamp();
    const record: TransactionRecord = {
      txId,
      creator: { mspId: creator.mspId, id: (await createEmbeddedIdentity({ mspId: creator.mspId, certificatePem: creator.certificatePem })).id },
      fn: args[0] ?? '',
      args: args.slice(1),
      timestamp: timestamp ? timestamp.getSeconds() * 1000 + Math.floor(timestamp.getNanos() / 1e6) : 0,
      ...decodeRwset(chaincodeAction.getResults_asU8(), this.options.chaincode),
      event: decodeEvent(chaincodeAction.getEvents_asU8()),
      validation: 'VALID',
    };
    if (!this.endorsementValid(responsePayloadBytes, endorsed?.getEndorsementsList() ?? [])) {
      // The committer would mark it ENDORSEMENT_POLICY_FAILURE; the block file only stores the MVCC
      // outcomes, so the status is kept in memory and the transaction does not enter a block.
      this.setStatus(txId, { blockNumber: this.blockFile.height, code: TxValidationCode.ENDORSEMENT_POLICY_FAILURE });
      return new gateway.SubmitResponse();
    }
    this.pendingTxIds.add(txId);
    this.queue.push(record);
    if (this.queue.length >= this.maxMessageCount) this.cutNow?.();
    this.ordering ??= this.runOrderer().finally(() => (this.ordering = undefined));
    return new gateway.SubmitResponse();
  }

  private async commitStatus(signed: gateway.SignedCommitStatusRequest): Promise<gateway.CommitStatusResponse> {
    const request = gateway.CommitStatusRequest.deserializeBinary(signed.getRequest_asU8());
    this.checkSignedRequest(request.getIdentity_asU8(), signed.getRequest_asU8(), signed.getSignature_asU8());
    const txId = request.getTransactionId();
    while (!this.statuses.has(txId)) {
      await new Promise<void>((resolve) => this.statusWaiters.set(txId, [...(this.statusWaiters.get(txId) ?? []), resolve]));
    }
    const status = this.statuses.get(txId)!;
    const response = new gateway.CommitStatusResponse();
    response.setResult(status.code);
    response.setBlockNumber(status.blockNumber);
    return response;
  }

  private async chaincodeEvents(
    call: ServerWritableStream<gateway.SignedChaincodeEventsRequest, gateway.ChaincodeEventsResponse>,
  ): Promise<void> {
    const signed = call.request;
    const request = gateway.ChaincodeEventsRequest.deserializeBinary(signed.getRequest_asU8());
    this.checkSignedRequest(request.getIdentity_asU8(), signed.getRequest_asU8(), signed.getSignature_asU8());
    let cancelled = false;
    call.on('cancelled', () => (cancelled = true));
    this.activeStreams.add(call as ServerWritableStream<unknown, unknown>);
    try {
      const afterTxId = request.getAfterTransactionId();
      const position = request.getStartPosition();
      let blockNumber =
        afterTxId && this.statuses.has(afterTxId)
          ? this.statuses.get(afterTxId)!.blockNumber
          : position?.hasSpecified()
            ? position.getSpecified()!.getNumber()
            : this.blockFile.height;
      let passedAfterTx = !afterTxId;
      while (!cancelled && !call.destroyed) {
        if (blockNumber >= this.blockFile.height) {
          await new Promise<void>((resolve) => this.blockWaiters.push(resolve));
          continue;
        }
        const block = await this.blockFile.readBlock(blockNumber);
        const events: peer.ChaincodeEvent[] = [];
        for (const tx of block.transactions) {
          if (!passedAfterTx) {
            passedAfterTx = tx.txId === afterTxId;
            continue;
          }
          if (tx.validation !== 'VALID' || !tx.event || request.getChaincodeId() !== this.options.chaincode) continue;
          const event = new peer.ChaincodeEvent();
          event.setChaincodeId(this.options.chaincode);
          event.setTxId(tx.txId);
          event.setEventName(tx.event.name);
          event.setPayload(Buffer.from(tx.event.payload, 'base64'));
          events.push(event);
        }
        if (events.length > 0) {
          const response = new gateway.ChaincodeEventsResponse();
          response.setBlockNumber(blockNumber);
          response.setEventsList(events);
          call.write(response);
        }
        blockNumber++;
      }
    } finally {
      this.activeStreams.delete(call as ServerWritableStream<unknown, unknown>);
    }
  }

  // --- Proposal checks and execution -------------------------------------------------------------

  private unpackProposal(signedProposal: peer.SignedProposal | undefined, refusal: (reason: string) => Error) {
    if (!signedProposal || signedProposal.getProposalBytes_asU8().length === 0) {
      throw rpcError(GrpcStatus.INVALID_ARGUMENT, 'the proposed transaction must contain a signed proposal');
    }
    const proposal = peer.Proposal.deserializeBinary(signedProposal.getProposalBytes_asU8());
    const header = common.Header.deserializeBinary(proposal.getHeader_asU8());
    const channelHeader = common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8());
    const signatureHeader = common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8());
    const payload = peer.ChaincodeProposalPayload.deserializeBinary(proposal.getPayload_asU8());
    const { chaincodeId, args } = invocationArgs(payload.getInput_asU8());
    const channel = channelHeader.getChannelId();
    // The endorser's preProcess checks: identity, signature, transaction id.
    const denied = (reason: string) => refusal(`access denied: channel [${channel}] ${reason}`);
    if (channel !== this.options.channel) throw denied(`is not joined by this peer`);
    let creator: VerifiedCreator;
    try {
      creator = this.verifyCreator(signatureHeader.getCreator_asU8());
      verifySignature(creator.certificatePem, signedProposal.getProposalBytes_asU8(), signedProposal.getSignature_asU8());
    } catch (err) {
      if (err instanceof AccessDenied) throw denied(`creator org: ${err.message}`);
      throw err;
    }
    const expectedTxId = sha256(signatureHeader.getNonce_asU8(), signatureHeader.getCreator_asU8()).toString('hex');
    if (channelHeader.getTxId() !== expectedTxId) {
      throw denied(`incorrectly computed txid ${channelHeader.getTxId()} -> expected ${expectedTxId}`);
    }
    const transient = new Map<string, Uint8Array>();
    payload.getTransientmapMap().forEach((value: Uint8Array | string, key: string) => transient.set(key, typeof value === 'string' ? Buffer.from(value, 'base64') : value));
    const timestamp = channelHeader.getTimestamp();
    return {
      txId: channelHeader.getTxId(),
      channel,
      chaincodeId,
      args,
      transient,
      creator,
      timestamp: timestamp ? timestamp.getSeconds() * 1000 + Math.floor(timestamp.getNanos() / 1e6) : Date.now(),
      header,
      channelHeaderBytes: header.getChannelHeader_asU8(),
      signatureHeaderBytes: header.getSignatureHeader_asU8(),
      input: payload.getInput_asU8(),
    };
  }

  /** The gateway finds no peer for a chaincode not defined on the channel: FAILED_PRECONDITION. */
  private requireDefinedChaincode(proposal: ReturnType<FabricGatewayTestServer['unpackProposal']>, action: string): void {
    const systemQuery = action === 'evaluate' && proposal.chaincodeId === 'qscc';
    if (proposal.chaincodeId !== this.options.chaincode && !systemQuery) {
      throw rpcError(
        GrpcStatus.FAILED_PRECONDITION,
        `no peers available to ${action} chaincode ${proposal.chaincodeId} in channel ${proposal.channel}`,
      );
    }
  }

  private async simulate(proposal: ReturnType<FabricGatewayTestServer['unpackProposal']>) {
    const stub = new EmbeddedChaincodeStub({
      worldState: this.worldState,
      chaincodeName: this.options.chaincode,
      channelId: proposal.channel,
      txId: proposal.txId,
      creator: { mspid: proposal.creator.mspId, idBytes: Buffer.from(proposal.creator.certificatePem) },
      args: proposal.args,
      transient: proposal.transient,
      timestamp: proposal.timestamp,
    });
    const response = await this.chaincode.Invoke(stub);
    return {
      status: response.status,
      message: response.message ?? '',
      payload: Buffer.from(response.payload ?? []),
      rwset: stub.readWriteSet(),
    };
  }

  /** qscc's GetChainInfo, the one system query the adapter makes. */
  private systemQuery(args: string[]): Uint8Array {
    if (args[0] !== 'GetChainInfo' || args[1] !== this.options.channel) {
      throw rpcError(GrpcStatus.UNKNOWN, `evaluate call to endorser returned error: chaincode response 500, unsupported qscc call ${args.join(' ')}`);
    }
    const info = new common.BlockchainInfo();
    info.setHeight(this.blockFile.height);
    info.setCurrentblockhash(Buffer.from(this.blockFile.headHash, 'hex'));
    return info.serializeBinary();
  }

  private verifyCreator(serialized: Uint8Array): VerifiedCreator {
    const identity = msp.SerializedIdentity.deserializeBinary(serialized);
    const mspId = identity.getMspid();
    const ca = this.cas.get(mspId);
    if (!ca) throw new AccessDenied(`unknown MSP ${mspId}`);
    const certificatePem = Buffer.from(identity.getIdBytes_asU8()).toString('utf8');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certificatePem);
    } catch {
      throw new AccessDenied(`${mspId} creator is not an X.509 certificate`);
    }
    if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) {
      throw new AccessDenied(`the creator certificate is not issued by ${mspId}'s CA`);
    }
    const now = Date.now();
    if (new Date(cert.validFrom).getTime() > now || new Date(cert.validTo).getTime() < now) {
      throw new AccessDenied(`the ${mspId} creator certificate has expired or is not yet valid`);
    }
    return { mspId, certificatePem, serialized };
  }

  /** CommitStatus and ChaincodeEvents: the gateway's ACL check on the signed request → PERMISSION_DENIED. */
  private checkSignedRequest(identity: Uint8Array, request: Uint8Array, signature: Uint8Array): void {
    try {
      const creator = this.verifyCreator(identity);
      verifySignature(creator.certificatePem, request, signature);
    } catch (err) {
      if (err instanceof AccessDenied) throw rpcError(GrpcStatus.PERMISSION_DENIED, `failed evaluating policy on signed data: ${err.message}`);
      throw err;
    }
  }

  private endorsementValid(responsePayload: Uint8Array, endorsements: peer.Endorsement[]): boolean {
    return endorsements.some((endorsement) => {
      try {
        const endorser = this.verifyCreator(endorsement.getEndorser_asU8());
        verifySignature(endorser.certificatePem, Buffer.concat([responsePayload, endorsement.getEndorser_asU8()]), endorsement.getSignature_asU8());
        return true;
      } catch {
        return false;
      }
    });
  }

  private errorDetail(message: string): gateway.ErrorDetail {
    const detail = new gateway.ErrorDetail();
    detail.setAddress(this.address);
    detail.setMspId(this.options.peer.mspId);
    detail.setMessage(message);
    return detail;
  }

  // --- Ordering and commit -----------------------------------------------------------------------

  private get maxMessageCount(): number {
    return this.options.maxMessageCount ?? 500;
  }

  private async runOrderer(): Promise<void> {
    while (this.queue.length > 0) {
      await this.blockCut();
      const batch = this.queue.splice(0, this.maxMessageCount);
      const block = await this.blockFile.append(validateBlock(batch, this.worldState));
      this.applyBlock(block);
      for (const tx of batch) this.pendingTxIds.delete(tx.txId);
    }
  }

  /** Resolves when the pending block is to be cut: at once (next turn), when full, or on its batch timeout. */
  private blockCut(): Promise<void> {
    const timeoutMs = this.options.batchTimeoutMs ?? 0;
    if (timeoutMs <= 0 || this.stopped || this.queue.length >= this.maxMessageCount) return new Promise((resolve) => setImmediate(resolve));
    return new Promise((resolve) => {
      const cut = () => {
        clearTimeout(timer);
        this.cutNow = undefined;
        resolve();
      };
      const timer = setTimeout(cut, timeoutMs);
      this.cutNow = cut;
    });
  }

  private applyBlock(block: Block): void {
    this.worldState.applyBlock(block);
    for (const tx of block.transactions) {
      this.setStatus(tx.txId, { blockNumber: block.header.number, code: TxValidationCode[tx.validation] });
    }
    const waiters = this.blockWaiters;
    this.blockWaiters = [];
    waiters.forEach((wake) => wake());
  }

  private setStatus(txId: string, status: TxStatus): void {
    if (!this.statuses.has(txId)) this.statuses.set(txId, status);
    this.statusWaiters.get(txId)?.forEach((wake) => wake());
    this.statusWaiters.delete(txId);
  }
}

// --- Protobuf and crypto helpers -------------------------------------------------------------------

function invocationArgs(inputBytes: Uint8Array): { chaincodeId: string; args: string[] } {
  const spec = peer.ChaincodeInvocationSpec.deserializeBinary(inputBytes).getChaincodeSpec();
  return {
    chaincodeId: spec?.getChaincodeId()?.getName() ?? '',
    args: (spec?.getInput()?.getArgsList_asU8() ?? []).map((arg) => Buffer.from(arg).toString('utf8')),
  };
}

function encodeRwset(namespace: string, rwset: ReadWriteSet): ledger.rwset.TxReadWriteSet {
  const version = (v: TxVersion) => {
    const out = new ledger.rwset.kvrwset.Version();
    out.setBlockNum(v[0]);
    out.setTxNum(v[1]);
    return out;
  };
  const read = (key: string, v: TxVersion | null) => {
    const out = new ledger.rwset.kvrwset.KVRead();
    out.setKey(key);
    if (v) out.setVersion(version(v));
    return out;
  };
  const kv = new ledger.rwset.kvrwset.KVRWSet();
  kv.setReadsList(rwset.reads.map(([key, v]) => read(key, v)));
  kv.setRangeQueriesInfoList(
    rwset.ranges.map((range) => {
      const info = new ledger.rwset.kvrwset.RangeQueryInfo();
      info.setStartKey(range.start);
      info.setEndKey(range.end);
      info.setItrExhausted(range.exhausted);
      const reads = new ledger.rwset.kvrwset.QueryReads();
      reads.setKvReadsList(range.reads.map(([key, v]) => read(key, v)));
      info.setRawReads(reads);
      return info;
    }),
  );
  kv.setWritesList(
    rwset.writes.map(([key, value]) => {
      const write = new ledger.rwset.kvrwset.KVWrite();
      write.setKey(key);
      write.setIsDelete(value === null);
      if (value) write.setValue(value);
      return write;
    }),
  );
  const ns = new ledger.rwset.NsReadWriteSet();
  ns.setNamespace(namespace);
  ns.setRwset(kv.serializeBinary());
  const txRwset = new ledger.rwset.TxReadWriteSet();
  txRwset.setDataModel(ledger.rwset.TxReadWriteSet.DataModel.KV);
  txRwset.setNsRwsetList([ns]);
  return txRwset;
}

function decodeRwset(bytes: Uint8Array, namespace: string): Pick<TransactionRecord, 'reads' | 'ranges' | 'writes'> {
  const ns = ledger.rwset.TxReadWriteSet.deserializeBinary(bytes)
    .getNsRwsetList()
    .find((n) => n.getNamespace() === namespace);
  if (!ns) return { reads: [], ranges: [], writes: [] };
  const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
  const version = (read: ledger.rwset.kvrwset.KVRead): TxVersion | null => {
    const v = read.getVersion();
    return v ? [v.getBlockNum(), v.getTxNum()] : null;
  };
  return {
    reads: kv.getReadsList().map((r) => [r.getKey(), version(r)] as const),
    ranges: kv.getRangeQueriesInfoList().map((info) => ({
      start: info.getStartKey(),
      end: info.getEndKey(),
      exhausted: info.getItrExhausted(),
      reads: (info.getRawReads()?.getKvReadsList() ?? []).map((r) => [r.getKey(), version(r) ?? [0, 0]] as const),
    })),
    writes: kv
      .getWritesList()
      .map((w) => [w.getKey(), w.getIsDelete() ? null : Buffer.from(w.getValue_asU8()).toString('base64')] as const),
  };
}

function decodeEvent(bytes: Uint8Array): TransactionRecord['event'] {
  if (bytes.length === 0) return null;
  const event = peer.ChaincodeEvent.deserializeBinary(bytes);
  return { name: event.getEventName(), payload: Buffer.from(event.getPayload_asU8()).toString('base64') };
}

function serializedIdentity(mspId: string, certificatePem: string): Uint8Array {
  const identity = new msp.SerializedIdentity();
  identity.setMspid(mspId);
  identity.setIdBytes(Buffer.from(certificatePem));
  return identity.serializeBinary();
}

const P256_ORDER = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** ECDSA-SHA256 over DER, rejecting high-S signatures as Fabric's MSP does (they are malleable). */
function verifySignature(certificatePem: string, data: Uint8Array, signature: Uint8Array): void {
  const publicKey = new X509Certificate(certificatePem).publicKey;
  if (!verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature)) {
    throw new AccessDenied('the signature does not verify against the creator certificate');
  }
  if (derSignatureS(signature) > P256_ORDER / 2n) throw new AccessDenied('the signature has a high S value');
}

/** Signs as a Fabric peer does: ECDSA-SHA256, S normalized to the lower half of the order, DER. */
function signLowS(data: Uint8Array, key: KeyObject): Buffer {
  const raw = sign('sha256', data, { key, dsaEncoding: 'ieee-p1363' });
  const r = BigInt(`0x${raw.subarray(0, 32).toString('hex')}`);
  let s = BigInt(`0x${raw.subarray(32).toString('hex')}`);
  if (s > P256_ORDER / 2n) s = P256_ORDER - s;
  const derInteger = (n: bigint) => {
    let hex = n.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    const bytes = Buffer.from(hex, 'hex');
    const body = bytes[0] & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
    return Buffer.concat([Buffer.from([0x02, body.length]), body]);
  };
  const sequence = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30, sequence.length]), sequence]);
}

function derSignatureS(signature: Uint8Array): bigint {
  // SEQUENCE { INTEGER r, INTEGER s } with short-form lengths (P-256 signatures are < 128 bytes).
  const rLength = signature[3];
  const sOffset = 4 + rLength;
  const sLength = signature[sOffset + 1];
  return BigInt(`0x${Buffer.from(signature.subarray(sOffset + 2, sOffset + 2 + sLength)).toString('hex')}`);
}

function sha256(...parts: Uint8Array[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

interface RpcError extends Error {
  code: number;
  details: string;
  metadata: Metadata;
}

/** A gRPC error carrying gateway.ErrorDetail entries in google.rpc.Status, as Fabric's gateway sends them. */
function rpcError(code: number, message: string, details: gateway.ErrorDetail[] = []): RpcError {
  const metadata = new Metadata();
  if (details.length > 0) {
    const status = new google.rpc.Status();
    status.setCode(code);
    status.setMessage(message);
    status.setDetailsList(
      details.map((detail) => {
        const any = new Any();
        any.setTypeUrl('type.googleapis.com/gateway.ErrorDetail');
        any.setValue(detail.serializeBinary());
        return any;
      }),
    );
    metadata.set('grpc-status-details-bin', Buffer.from(status.serializeBinary()));
  }
  return Object.assign(new Error(message), { code, details: message, metadata });
}

function toServiceError(err: unknown): RpcError {
  if (err instanceof Error && typeof (err as Partial<RpcError>).code === 'number' && (err as Partial<RpcError>).metadata) {
    return err as RpcError;
  }
  return rpcError(GrpcStatus.INTERNAL, (err as Error)?.message ?? String(err));
}
