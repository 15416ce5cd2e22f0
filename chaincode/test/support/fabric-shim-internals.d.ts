// fabric-shim ships no types for its contract dispatcher; this is the part the tests use.
declare module 'fabric-shim/lib/contract-spi/chaincodefromcontract.js' {
  interface ChaincodeResponse {
    status: number;
    message?: string;
    payload?: Uint8Array;
  }
  export default class ChaincodeFromContract {
    constructor(
      contractClasses: unknown[],
      serializers: { transaction: string; serializers: Record<string, unknown> },
      metadata: object,
      title: string,
      version: string,
    );
    metadata: { contracts: Record<string, { transactions: { name: string; tag?: string[]; parameters?: { name: string }[] }[] }> };
    Invoke(stub: unknown): Promise<ChaincodeResponse>;
  }
}
