import { useState } from 'react';
import { studioRunsFromLink } from '../../studio/compareLink';
import { CompareView } from './CompareView';

/**
 * Renders the Compare tab until the studio's run list exists: the runs of the page's
 * comparison link, read once when the tab opens, queued and without results.
 */
// TODO: render CompareView with the studio slice's runs once that slice exists, and drop this component.
export function LinkedCompareView() {
  const [restored] = useState(() => studioRunsFromLink(window.location.search) ?? { runs: [], messages: [] });
  return <CompareView runs={restored.runs} messages={restored.messages} />;
}
