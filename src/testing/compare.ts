/**
 * Tolerance checks for tests. A value passes when
 * |got − want| ≤ atol + rtol·|want|, with atol = atolFactor · max|want| over the
 * tensor (never below 1e-6). The defaults (rtol 1e-3, atolFactor 1e-4) are the
 * float32 tolerance that the golden vectors' README justifies: float32 PyTorch
 * passes it with a margin of more than 200×.
 */
export interface Tolerance {
  rtol: number;
  atolFactor: number;
}

export const FLOAT32_TOLERANCE: Tolerance = { rtol: 1e-3, atolFactor: 1e-4 };

export interface CompareResult {
  ok: boolean;
  maxAbsDiff: number;
  /** Failure text naming the tensor, the first bad index, both values and the max abs diff. */
  message: string;
}

type Numbers = ArrayLike<number>;

export function compareTensors(name: string, got: Numbers, want: Numbers, tol: Tolerance = FLOAT32_TOLERANCE): CompareResult {
  if (got.length !== want.length) {
    return { ok: false, maxAbsDiff: Infinity, message: `${name}: length ${got.length} differs from expected ${want.length}` };
  }
  let maxWant = 0;
  for (let i = 0; i < want.length; i++) maxWant = Math.max(maxWant, Math.abs(want[i]));
  const atol = Math.max(tol.atolFactor * maxWant, 1e-6);

  let maxAbsDiff = 0;
  let firstBad = -1;
  let badCount = 0;
  for (let i = 0; i < want.length; i++) {
    const diff = Math.abs(got[i] - want[i]);
    // NaN in either tensor fails, because every comparison with NaN is false.
    if (!(diff <= atol + tol.rtol * Math.abs(want[i]))) {
      if (firstBad < 0) firstBad = i;
      badCount++;
    }
    if (diff > maxAbsDiff || Number.isNaN(diff)) maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
  }
  if (firstBad < 0) return { ok: true, maxAbsDiff, message: `${name}: ok (max abs diff ${maxAbsDiff.toExponential(2)})` };
  return {
    ok: false,
    maxAbsDiff,
    message:
      `${name}: ${badCount} of ${want.length} values out of tolerance; first at index ${firstBad}: ` +
      `got ${got[firstBad]}, want ${want[firstBad]}; max abs diff ${maxAbsDiff.toExponential(3)} ` +
      `(atol ${atol.toExponential(2)}, rtol ${tol.rtol})`,
  };
}

/** Throws with compareTensors' message when the tensors differ beyond tolerance. */
export function assertClose(name: string, got: Numbers, want: Numbers, tol: Tolerance = FLOAT32_TOLERANCE): void {
  const result = compareTensors(name, got, want, tol);
  if (!result.ok) throw new Error(result.message);
}
