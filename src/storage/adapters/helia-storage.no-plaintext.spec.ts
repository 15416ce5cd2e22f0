import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decryptStream, encryptStream, generateDataKey } from '../../crypto/streaming-aead.js';
import { collect, streamOf } from '../storage.conformance.js';
import { HeliaStorage } from './helia-storage.adapter.js';

const MARKER = Buffer.from('PATIENT-DIAGNOSIS-MARKER-7f3a9c');

/** A "medical file": random filler with the marker planted at several offsets, one across a leaf edge. */
function medicalFile(chunkSize: number): Buffer {
  const file = randomBytes(3 * chunkSize);
  for (const at of [0, 5000, chunkSize - 10, 2 * chunkSize + 77]) MARKER.copy(file, at);
  return file;
}

async function filesContaining(dir: string, needle: Buffer): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const hits: string[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path)).includes(needle)) hits.push(path);
  }
  return hits;
}

describe('HeliaStorage holds no plaintext of encrypted uploads', () => {
  const chunkSize = 64 * 1024;
  let dataDir: string;
  let storage: HeliaStorage;

  beforeEach(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'storage-plaintext-'));
    storage = new HeliaStorage({ dataDir, chunkSize });
    await storage.start();
  });

  afterEach(async () => {
    await storage.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('finds the marker nowhere on disk after storing the encrypted file', async () => {
    const file = medicalFile(chunkSize);
    const dek = generateDataKey();
    const binding = { recordId: 'rec-1', version: 1 };
    const { cid } = await storage.put(encryptStream(streamOf(file), dek, binding));
    await storage.stop();

    expect(await filesContaining(join(dataDir, 'ipfs'), MARKER)).toEqual([]);

    await storage.start();
    const roundTrip = await collect(decryptStream(storage.get(cid), dek, binding));
    expect(roundTrip.equals(file)).toBe(true);
  });

  it('control: finds the marker when the same file is stored unencrypted', async () => {
    await storage.put(streamOf(medicalFile(chunkSize)));
    await storage.stop();
    const hits = await filesContaining(join(dataDir, 'ipfs', 'blocks'), MARKER);
    expect(hits.length).toBeGreaterThan(0);
  });
});
