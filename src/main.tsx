import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { startSync } from './store/sync';
import { disposeTrainer } from './trainerClient';
import { App } from './ui/App';
import './ui/styles.css';

const container = document.getElementById('root');
if (!container) throw new Error('index.html has no element with id "root"');

createRoot(container).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

const stopSync = startSync();

// Release the worker so that it frees its GPU buffers; a page kept in the back-forward
// cache keeps its worker.
window.addEventListener('pagehide', (event) => {
  if (event.persisted) return;
  stopSync();
  disposeTrainer();
});
