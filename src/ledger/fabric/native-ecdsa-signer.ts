import { sign, type KeyObject } from 'node:crypto';

/** The group orders of the curves Fabric identities use (SEC 2), for the low-S rule. */
const CURVE_ORDERS: Record<string, bigint> = {
  'prime256v1': BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551'),
  'secp384r1': BigInt('0xffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973'),
};

/**
 * A Fabric Gateway signer on Node's own (OpenSSL) ECDSA, for use with the gateway's `hash.none`: it is
 * handed the whole message and signs SHA-256 of it, as Fabric's default (SHA2-256) hash family expects.
 * The gateway's stock signer does the same in pure JavaScript (@noble/curves): measured here at about
 * 4 ms of CPU per ledger submit (two signatures: proposal and transaction), which is most of what a
 * node spends on the ledger path itself. Fabric refuses high-S signatures (a signature's malleable
 * twin), which OpenSSL may produce: S is folded into the lower half of the group order.
 */
export function newNativeEcdsaSigner(privateKey: KeyObject): (message: Uint8Array) => Promise<Uint8Array> {
  const curve = privateKey.asymmetricKeyDetails?.namedCurve;
  const order = curve === undefined ? undefined : CURVE_ORDERS[curve];
  if (privateKey.asymmetricKeyType !== 'ec' || order === undefined) {
    throw new Error(`a Fabric identity key must be an EC key on P-256 or P-384, not ${privateKey.asymmetricKeyType} ${curve ?? ''}`.trim());
  }
  return (message) => {
    const raw = sign('sha256', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    const half = raw.length / 2;
    const r = BigInt(`0x${raw.subarray(0, half).toString('hex')}`);
    let s = BigInt(`0x${raw.subarray(half).toString('hex')}`);
    if (s > order >> 1n) s = order - s;
    return Promise.resolve(derSignature(r, s));
  };
}

/** ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }, DER. */
function derSignature(r: bigint, s: bigint): Uint8Array {
  const body = Buffer.concat([derInteger(r), derInteger(s)]);
  return Buffer.concat([Buffer.from([0x30]), derLength(body.length), body]);
}

function derInteger(value: bigint): Buffer {
  let hex = value.toString(16);
  if (hex.length % 2 === 1) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  // A leading 1 bit would read as negative: a zero byte keeps it positive.
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return Buffer.concat([Buffer.from([0x02]), derLength(bytes.length), bytes]);
}

function derLength(length: number): Buffer {
  return length < 0x80 ? Buffer.from([length]) : Buffer.from([0x81, length]);
}
