import { crossEntropyForwardBackward, type Vec } from './ops';

export interface MaskedLoss {
  /** Mean cross-entropy over positions with mask 1, in nats. */
  loss: number;
  accuracy: number;
  /** Σ mask: how many answer positions the batch has. */
  answerCount: number;
  dlogits: Vec;
}

/** Masked mean cross-entropy of logits (rows, vocab), with its gradient and the argmax accuracy. */
export function maskedLoss(logits: Vec, targets: Int32Array, mask: Float32Array, rows: number, vocab: number): MaskedLoss {
  const V = logits instanceof Float64Array ? Float64Array : Float32Array;
  let answerCount = 0;
  for (let j = 0; j < rows; j++) answerCount += mask[j];
  const scale = answerCount > 0 ? 1 / answerCount : 0;
  const lossRows = new V(rows);
  const correct = new V(rows);
  const dlogits = new V(rows * vocab);
  crossEntropyForwardBackward(lossRows, correct, dlogits, logits, targets, mask, rows, vocab, scale);
  let loss = 0;
  let hits = 0;
  for (let j = 0; j < rows; j++) {
    loss += lossRows[j];
    hits += correct[j];
  }
  return { loss: loss * scale, accuracy: answerCount > 0 ? hits / answerCount : 0, answerCount, dlogits };
}
