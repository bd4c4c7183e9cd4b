import { describe, expect, it } from 'vitest';
import { REFERENCE_DASH, SERIES_COLORS, SERIES_DASHES, seriesStyle } from './seriesStyles';

describe('seriesStyle', () => {
  it('gives the first series solid palette colours', () => {
    expect(seriesStyle(0)).toEqual({ color: '#0072b2', dash: '' });
    expect(seriesStyle(1)).toEqual({ color: '#d55e00', dash: '' });
  });

  it('dashes lines once the colours repeat', () => {
    expect(seriesStyle(SERIES_COLORS.length)).toEqual({ color: SERIES_COLORS[0], dash: '2 3' });
  });

  it('never uses the reference curves dash', () => {
    expect(SERIES_DASHES).not.toContain(REFERENCE_DASH);
  });

  it('keeps styles unique up to the palette size', () => {
    const count = SERIES_COLORS.length * SERIES_DASHES.length;
    const styles = Array.from({ length: count }, (_, i) => JSON.stringify(seriesStyle(i)));
    expect(new Set(styles).size).toBe(count);
    expect(seriesStyle(count)).toEqual(seriesStyle(0));
  });

  it('treats invalid indices as the first', () => {
    expect(seriesStyle(-3)).toEqual(seriesStyle(0));
    expect(seriesStyle(1.7)).toEqual(seriesStyle(1));
  });
});
