/**
 * A Set that refuses changes once built: the sandbox globals list and every policy set
 * (syntax, globals, forbidden names) are shared, deep-frozen values built from it.
 */

/**
 * Set whose `add`, `delete` and `clear` throw a TypeError after construction.
 * Defends against tampering through a shared reference: `Object.freeze` does not stop
 * `Set.prototype.add`, so the mutators are overridden to refuse.
 * @example new FrozenSet(['a'], 'policy sets').add('b') // throws TypeError: policy sets are read-only
 */
export class FrozenSet<T> extends Set<T> {
  #sealed = false;
  readonly #what: string;

  /** `what` names the set in the TypeError a mutation throws ("`what` are read-only"). */
  constructor(values: Iterable<T> = [], what = 'these sets') {
    super();
    for (const value of values) super.add(value);
    this.#what = what;
    this.#sealed = true;
    Object.freeze(this);
  }

  override add(value: T): this {
    if (this.#sealed) throw new TypeError(`${this.#what} are read-only`);
    return super.add(value);
  }

  override delete(value: T): boolean {
    if (this.#sealed) throw new TypeError(`${this.#what} are read-only`);
    return super.delete(value);
  }

  override clear(): void {
    if (this.#sealed) throw new TypeError(`${this.#what} are read-only`);
    super.clear();
  }
}
