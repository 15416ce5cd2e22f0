/**
 * A Map that forgets its least recently written entries beyond `maxEntries`: the embedded
 * in-process cache store, so a long-running laptop server cannot grow without bound (Keyv's default
 * Map only drops expired entries when they are read again).
 */
export class BoundedMap<K, V> extends Map<K, V> {
  constructor(private readonly maxEntries: number) {
    super();
  }

  override set(key: K, value: V): this {
    if (this.has(key)) this.delete(key);
    super.set(key, value);
    while (this.size > this.maxEntries) {
      const oldest = this.keys().next();
      if (oldest.done) break;
      this.delete(oldest.value);
    }
    return this;
  }
}
