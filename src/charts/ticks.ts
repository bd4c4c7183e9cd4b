/** Tick values and tick labels for chart axes. Pure functions with no DOM. */
import * as d3 from 'd3';
import { thinTicks } from './domains';

/**
 * Returns about `count` ticks in the domain that are integers, for axes of counts such
 * as steps and positions, where a tick at 30.2 means nothing. d3's tick steps below 1
 * (0.5, 0.2, 0.1 …) divide 1, so filtering its ticks keeps every integer they pass.
 * Returns [] when no integer lies in the domain.
 */
export function integerTicks(domain: [number, number], count: number): number[] {
  const lo = Math.min(domain[0], domain[1]);
  const hi = Math.max(domain[0], domain[1]);
  return d3.ticks(lo, hi, Math.max(1, count)).filter((tick) => Number.isInteger(tick));
}

/**
 * Returns at most `max` ticks of a log domain [lo, hi] with lo > 0: the powers of ten
 * inside it when there are at least two, else d3's log ticks (1, 2, 5 … per decade),
 * thinned evenly. Either way the labels do not crowd a short colour bar.
 */
export function logTicks(domain: [number, number], max: number): number[] {
  const lo = Math.min(domain[0], domain[1]);
  const hi = Math.max(domain[0], domain[1]);
  const limit = Math.max(1, max);
  const powers: number[] = [];
  // Number('1e-5') is exact where 10 ** -5 is not.
  for (let e = Math.ceil(Math.log10(lo)); e <= Math.floor(Math.log10(hi)); e++) powers.push(Number(`1e${e}`));
  const candidates = powers.length >= 2 ? powers : d3.scaleLog().domain([lo, hi]).ticks(limit);
  return thinTicks(candidates, limit);
}

const formatExponent = d3.format('.2~e');
const formatSi = d3.format('.3~s');
const formatPlain = d3.format('.3~g');

/**
 * Formats an axis value compactly and in one style per magnitude: below 0.001 with an
 * exponent (1e-6, 2.5e-5), from 0.001 to 1000 with up to 3 significant digits (0.01,
 * 0.5, 250), and from 1000 with an SI suffix (2k, 12.5k). Minus signs are U+2212, as in
 * d3-format.
 */
export function formatTick(value: number): string {
  if (value === 0 || !Number.isFinite(value)) return String(value);
  const magnitude = Math.abs(value);
  if (magnitude < 1e-3) return formatExponent(value);
  if (magnitude >= 1e3) return formatSi(value);
  return formatPlain(value);
}

/**
 * Returns the powers of two inside a domain [lo, hi] with lo > 0, thinned evenly to at
 * most `max`, for an axis of sequence lengths on a log2 scale. Returns [] when no power
 * of two lies inside.
 */
export function powerOfTwoTicks(domain: [number, number], max: number): number[] {
  const lo = Math.min(domain[0], domain[1]);
  const hi = Math.max(domain[0], domain[1]);
  if (!(lo > 0) || !Number.isFinite(hi)) return [];
  const ticks: number[] = [];
  for (let e = Math.ceil(Math.log2(lo)); e <= Math.floor(Math.log2(hi)); e++) ticks.push(2 ** e);
  return thinTicks(ticks, Math.max(1, max));
}

const SUPERSCRIPT_DIGITS = '⁰¹²³⁴⁵⁶⁷⁸⁹';

/** Formats a power of two as 2 with a superscript exponent, such as "2¹⁰", and any other value with formatTick. */
export function formatPowerOfTwo(value: number): string {
  const exponent = Math.log2(value);
  if (!Number.isInteger(exponent) || exponent < 0) return formatTick(value);
  return `2${[...String(exponent)].map((digit) => SUPERSCRIPT_DIGITS[Number(digit)]).join('')}`;
}
