/** A Set that refuses changes once built, so a deep-frozen policy really is read-only. */

/**
 * Set whose `add`, `delete` and `clear` throw after construction.
 * Defends against policy tampering through a shared reference: `Object.freeze` does not stop
 * `Set.prototype.add`, so the mutators are overridden to refuse.
 */
export class FrozenSet<T> extends Set<T> {
  #sealed = false;

  constructor(values: Iterable<T> = []) {
    super();
    for (const value of values) super.add(value);
    this.#sealed = true;
    Object.freeze(this);
  }

  override add(value: T): this {
    if (this.#sealed) throw new TypeError('policy sets are read-only');
    return super.add(value);
  }

  override delete(value: T): boolean {
    if (this.#sealed) throw new TypeError('policy sets are read-only');
    return super.delete(value);
  }

  override clear(): void {
    if (this.#sealed) throw new TypeError('policy sets are read-only');
    super.clear();
  }
}
