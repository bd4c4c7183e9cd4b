/**
 * The Web Worker of length-extrapolation evaluations: one ExtrapolationEvaluator
 * exposed with comlink. It has no engine, so the page cancels an evaluation by
 * terminating this worker, and starts a new one for the next.
 */
import * as Comlink from 'comlink';
import { ExtrapolationEvaluator } from './evaluator';

Comlink.expose(new ExtrapolationEvaluator());
