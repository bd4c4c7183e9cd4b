import { useMemo } from 'react';
import { countParameters } from '../model/models';
import { useAppStore } from '../store';
import { ARCHITECTURE_LABELS, withArchitecture } from '../store/choices';
import { formatCount } from './format';

/**
 * Shows the trainable parameters of the configured model and, beside them, those of
 * the other architecture at the same vocabulary, width and depth.
 */
export function ParameterCount() {
  const run = useAppStore((state) => state.run);
  const counts = useMemo(() => {
    const architecture = run.model.architecture ?? 'mamba';
    const other = architecture === 'mamba' ? 'transformer' : 'mamba';
    const count = (model: typeof run.model) => {
      try {
        return countParameters(model);
      } catch {
        return null;
      }
    };
    return { own: count(run.model), other: count(withArchitecture(run, other).model), otherLabel: ARCHITECTURE_LABELS[other] };
  }, [run]);

  if (counts.own === null) return null;
  return (
    <p className="parameter-count" data-testid="parameter-count">
      {formatCount(counts.own)} parameters
      {counts.other !== null && (
        <span className="parameter-other">
          {' '}
          · {counts.otherLabel.split(' ')[0]} at this size: {formatCount(counts.other)}
        </span>
      )}
    </p>
  );
}
