import { useState, type RefObject } from 'react';
import { chartToPng, chartToSvg } from '../../charts/chartImage';
import { exportFileName } from '../../studio/export';
import { downloadBlob, downloadText } from './download';

/**
 * SVG and PNG download buttons for the chart drawn in `host`. `title` names the chart
 * in the buttons' labels and the file names, such as "loss curves".
 */
export function ChartExportButtons({ host, title }: { host: RefObject<HTMLElement | null>; title: string }) {
  const [error, setError] = useState<string | null>(null);

  const chartRoot = (): HTMLElement | null => host.current?.querySelector<HTMLElement>(':scope > .chart') ?? null;

  const saveSvg = () => {
    const root = chartRoot();
    if (!root) return;
    try {
      downloadText(chartToSvg(root), exportFileName(title, 'svg'), 'image/svg+xml');
      setError(null);
    } catch (failure) {
      setError(`SVG export failed: ${failure instanceof Error ? failure.message : String(failure)}`);
    }
  };

  const savePng = async () => {
    const root = chartRoot();
    if (!root) return;
    try {
      downloadBlob(await chartToPng(root), exportFileName(title, 'png'));
      setError(null);
    } catch (failure) {
      setError(`PNG export failed: ${failure instanceof Error ? failure.message : String(failure)}`);
    }
  };

  return (
    <span className="export-buttons">
      <button type="button" className="small-button" aria-label={`Download ${title} as SVG`} onClick={saveSvg}>
        SVG
      </button>
      <button type="button" className="small-button" aria-label={`Download ${title} as PNG`} onClick={() => void savePng()}>
        PNG
      </button>
      {error && (
        <span className="export-error" role="alert">
          {error}
        </span>
      )}
    </span>
  );
}
