import { createDecipheriv } from 'node:crypto';

import argon2 from 'argon2';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { CryptoInputError, CryptoIntegrityError } from './crypto.errors.js';
import {
  type Argon2Params,
  DEFAULT_ARGON2_PARAMS,
  type KeySealedSecret,
  needsResealing,
  type PasswordSealedSecret,
  sealWithKey,
  sealWithPassword,
  unsealWithKey,
  unsealWithPassword,
} from './sealing.js';

/** Cheap parameters so the suite stays fast; production uses DEFAULT_ARGON2_PARAMS. */
const cheap: Argon2Params = { memoryCost: 64, timeCost: 1, parallelism: 1 };
const secret = Buffer.from('a private key, 32 bytes long....');
const aad = Buffer.from('user-1:x25519');

async function expectIntegrityError(promise: Promise<unknown>, message?: RegExp) {
  const error = await promise.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(CryptoIntegrityError);
  if (message) expect((error as Error).message).toMatch(message);
}

function flipBit(text: string, position: number, bit: number): string {
  const raw = Buffer.from(text, 'base64url');
  raw[position % raw.byteLength] ^= 1 << bit;
  return raw.toString('base64url');
}

describe('password sealing', () => {
  // Made once by sealWithPassword and kept: this format must keep opening after any refactoring.
  const pinned: PasswordSealedSecret = {
    version: 1,
    kdf: 'argon2id',
    params: { memoryCost: 64, timeCost: 1, parallelism: 1 },
    salt: 'vErz9K93Ih8bckOZJT2BWg',
    nonce: 'Wpi_rGNTojrCvFjG',
    ciphertext: 'imAVYTkCCCH0ZQDlJb4Lea5_r99Grs9iFT0TcBIHPds',
  };
  const pinnedPassword = 'correct horse battery staple';

  it('opens a pinned v1 seal, also when decrypted by hand from the documented layout', async () => {
    const options = { aad: Buffer.from('user-1:x25519') };
    expect((await unsealWithPassword(pinned, pinnedPassword, options)).toString()).toBe('pinned secret v1');

    const salt = Buffer.from(pinned.salt, 'base64url');
    const key = await argon2.hash(pinnedPassword, {
      type: argon2.argon2id,
      raw: true,
      salt,
      hashLength: 32,
      memoryCost: 64,
      timeCost: 1,
      parallelism: 1,
    });
    const sealed = Buffer.from(pinned.ciphertext, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(pinned.nonce, 'base64url'));
    decipher.setAAD(
      Buffer.concat([
        Buffer.from('HealthLedger seal v1 argon2id'),
        Buffer.from('00000040' + '00000001' + '00000001', 'hex'),
        salt,
        Buffer.from('0000000d', 'hex'),
        options.aad,
      ]),
    );
    decipher.setAuthTag(sealed.subarray(-16));
    expect(Buffer.concat([decipher.update(sealed.subarray(0, -16)), decipher.final()]).toString()).toBe('pinned secret v1');
  });

  it('round-trips through JSON with a fresh salt and nonce each time', async () => {
    const first = await sealWithPassword(secret, 'pässwörd', { params: cheap, aad });
    const second = await sealWithPassword(secret, 'pässwörd', { params: cheap, aad });
    expect(first.salt).not.toBe(second.salt);
    expect(first.ciphertext).not.toBe(second.ciphertext);
    const stored = JSON.parse(JSON.stringify(first)) as PasswordSealedSecret;
    expect((await unsealWithPassword(stored, 'pässwörd', { aad })).equals(secret)).toBe(true);
  });

  it('uses the production defaults when no parameters are given', async () => {
    expect(DEFAULT_ARGON2_PARAMS.memoryCost).toBeGreaterThanOrEqual(19_456);
    expect(DEFAULT_ARGON2_PARAMS.timeCost).toBeGreaterThanOrEqual(2);
    const sealed = await sealWithPassword(secret, 'pw');
    expect(sealed.params).toEqual(DEFAULT_ARGON2_PARAMS);
    expect((await unsealWithPassword(sealed, 'pw')).equals(secret)).toBe(true);
  });

  it('stores only the three Argon2 parameters, whatever else the caller passes', async () => {
    const sealed = await sealWithPassword(secret, 'pw', { params: { ...cheap, hashLength: 4 } as Argon2Params });
    expect(sealed.params).toEqual(cheap);
    expect((await unsealWithPassword(sealed, 'pw')).equals(secret)).toBe(true);
  });

  it('treats canonically equivalent Unicode passwords as the same password', async () => {
    const sealed = await sealWithPassword(secret, 'caf\u00e9', { params: cheap });
    expect((await unsealWithPassword(sealed, 'cafe\u0301')).equals(secret)).toBe(true);
  });

  it('rejects a wrong password or context', async () => {
    const sealed = await sealWithPassword(secret, 'right password', { params: cheap, aad });
    await expectIntegrityError(unsealWithPassword(sealed, 'wrong password', { aad }), /wrong password/);
    await expectIntegrityError(unsealWithPassword(sealed, 'right password', { aad: Buffer.from('user-2:x25519') }));
    await expectIntegrityError(unsealWithPassword(sealed, 'right password'));
  });

  it('rejects any flipped bit in salt, nonce or ciphertext, and changed parameters', async () => {
    const sealed = await sealWithPassword(secret, 'pw', { params: cheap });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('salt', 'nonce', 'ciphertext') as fc.Arbitrary<'salt' | 'nonce' | 'ciphertext'>,
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        async (field, position, bit) => {
          await expectIntegrityError(unsealWithPassword({ ...sealed, [field]: flipBit(sealed[field], position, bit) }, 'pw'));
        },
      ),
      { numRuns: 40 },
    );
    await expectIntegrityError(unsealWithPassword({ ...sealed, params: { ...cheap, timeCost: 2 } }, 'pw'));
  });

  it('refuses hostile or malformed blobs before running Argon2 on them', async () => {
    const sealed = await sealWithPassword(secret, 'pw', { params: cheap });
    const huge = { ...sealed, params: { ...cheap, memoryCost: 64 * 1024 * 1024 } };
    await expectIntegrityError(unsealWithPassword(huge, 'pw'), /Argon2 parameters out of bounds: memoryCost/);
    const version2 = { ...sealed, version: 2 } as unknown as PasswordSealedSecret;
    await expectIntegrityError(unsealWithPassword(version2, 'pw'), /version 2/);
    await expectIntegrityError(unsealWithPassword({ ...sealed, salt: 'AAAA' }, 'pw'), /salt must be 16 bytes/);
    await expectIntegrityError(unsealWithPassword({ ...sealed, ciphertext: 'AAAA' }, 'pw'), /shorter than its .* tag/);
  });

  it('rejects unusable inputs with CryptoInputError', async () => {
    await expect(sealWithPassword(secret, '', { params: cheap })).rejects.toThrow(CryptoInputError);
    await expect(sealWithPassword(Buffer.alloc(0), 'pw', { params: cheap })).rejects.toThrow(CryptoInputError);
    await expect(sealWithPassword(secret, 'pw', { params: { ...cheap, timeCost: 0 } })).rejects.toThrow(/timeCost/);
    await expect(sealWithPassword(secret, 'pw', { params: { memoryCost: 16, timeCost: 1, parallelism: 4 } })).rejects.toThrow(
      /8 KiB per lane/,
    );
  });

  it('says when a seal should be redone with current parameters', async () => {
    const sealed = await sealWithPassword(secret, 'pw', { params: cheap });
    expect(needsResealing(sealed, cheap)).toBe(false);
    expect(needsResealing(sealed)).toBe(true);
    expect(needsResealing(sealed, { ...cheap, memoryCost: 128 })).toBe(true);
    expect(needsResealing(sealed, { ...cheap, timeCost: 2 })).toBe(true);
    expect(needsResealing(sealed, { ...cheap, parallelism: 2 })).toBe(true);
    expect(needsResealing({ ...sealed, params: { ...DEFAULT_ARGON2_PARAMS } })).toBe(false);
  });
});

describe('key sealing', () => {
  const key = Buffer.alloc(32, 7);

  it('opens a pinned v1 seal', () => {
    const pinned: KeySealedSecret = {
      version: 1,
      algorithm: 'A256GCM',
      nonce: 'VkjNFh1DMrfmlBnu',
      ciphertext: 'WyfFOA2_n75SNYizuyVIPKP6DzhD-lFs7K1clPpG5No',
    };
    expect(unsealWithKey(pinned, key, Buffer.from('session-1')).toString()).toBe('pinned secret v1');
  });

  it('round-trips any secret and context', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.uint8Array({ maxLength: 64 }), (data, context) => {
        const sealed = JSON.parse(JSON.stringify(sealWithKey(data, key, context))) as KeySealedSecret;
        expect(unsealWithKey(sealed, key, context).equals(Buffer.from(data))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });

  it('rejects a wrong key, wrong context or flipped bit', () => {
    const sealed = sealWithKey(secret, key, aad);
    expect(() => unsealWithKey(sealed, Buffer.alloc(32, 8), aad)).toThrow(CryptoIntegrityError);
    expect(() => unsealWithKey(sealed, key, Buffer.from('user-1:ed25519'))).toThrow(/wrong key, wrong context/);
    fc.assert(
      fc.property(
        fc.constantFrom('nonce', 'ciphertext') as fc.Arbitrary<'nonce' | 'ciphertext'>,
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (field, position, bit) => {
          const tampered = { ...sealed, [field]: flipBit(sealed[field], position, bit) };
          expect(() => unsealWithKey(tampered, key, aad)).toThrow(CryptoIntegrityError);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('rejects unusable inputs with CryptoInputError', () => {
    expect(() => sealWithKey(secret, Buffer.alloc(16), aad)).toThrow(/sealing key must be 32 bytes/);
    expect(() => sealWithKey(Buffer.alloc(0), key, aad)).toThrow(CryptoInputError);
    expect(() => unsealWithKey(sealWithKey(secret, key, aad), Buffer.alloc(31), aad)).toThrow(CryptoInputError);
  });
});
