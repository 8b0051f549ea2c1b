/**
 * A small map from content (a PEM, a set of PEMs) to what was derived from it, for what every
 * device of a fleet receives identically: the root, the issuing CA, the signing certificate.
 * Bounded, so that a long-lived process seeing many platforms (the tests) does not grow for ever;
 * the oldest entry goes first.
 */
export class ContentCache<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity = 32) {}

  get(key: string, make: () => V): V {
    const known = this.entries.get(key);
    if (known !== undefined) return known;
    const made = make();
    if (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, made);
    return made;
  }
}
