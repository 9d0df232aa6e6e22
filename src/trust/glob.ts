/**
 * Identifier globs for keyring scopes: `*` (any run, possibly empty) and `?` (one character),
 * anchored at both ends. No regex: a two-pointer matcher in O(pattern x text) worst case,
 * with no exponential backtracking.
 */

/** Characters a glob may contain: identifier characters plus `*` and `?`. */
export const GLOB_PATTERN = /^[a-z0-9._*?-]{1,128}$/;

/**
 * Whether `text` matches `glob` as a whole (anchored).
 * Defends against ReDoS: greedy star with a single resume point, never a regex engine.
 */
export function matchGlob(glob: string, text: string): boolean {
  let g = 0;
  let t = 0;
  let starG = -1;
  let starT = 0;
  while (t < text.length) {
    const gc = glob[g];
    if (g < glob.length && (gc === '?' || gc === text[t])) {
      g++;
      t++;
    } else if (g < glob.length && gc === '*') {
      starG = g++;
      starT = t;
    } else if (starG !== -1) {
      g = starG + 1;
      t = ++starT;
    } else {
      return false;
    }
  }
  while (g < glob.length && glob[g] === '*') g++;
  return g === glob.length;
}
