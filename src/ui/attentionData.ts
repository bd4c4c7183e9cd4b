/**
 * Turns the attention weights of a probe event into heatmap columns: one column per
 * key position, one row per query position. Pure functions, tested under Node.
 */

/**
 * Returns the (key, query) matrix of one layer as heatmap values (values[s * l + t] is
 * the weight of query t on key s), for one head or, with head = 'mean', averaged
 * over the heads. weights is (n_head, l, l) with rows indexed by query.
 */
export function attentionColumns(weights: Float32Array, l: number, nHead: number, head: number | 'mean'): Float32Array {
  if (weights.length !== nHead * l * l) {
    throw new RangeError(`attention weights have ${weights.length} values; n_head · l · l = ${nHead * l * l}`);
  }
  const out = new Float32Array(l * l);
  const heads = head === 'mean' ? Array.from({ length: nHead }, (_, h) => h) : [head];
  const scale = 1 / heads.length;
  for (const h of heads) {
    for (let t = 0; t < l; t++) {
      for (let s = 0; s < l; s++) out[s * l + t] += weights[(h * l + t) * l + s] * scale;
    }
  }
  return out;
}

/** Colour domain for attention weights: from the smallest positive weight, but at least 1e-4, up to 1. */
export function attentionDomain(columns: Float32Array[]): [number, number] {
  let min = 1;
  for (const values of columns) for (const v of values) if (v > 0 && v < min) min = v;
  return [Math.max(min, 1e-4), 1];
}
