// The renderer's entry: styles, the layout engine in a web worker, the app, then start-up.
import './zod-config.js';
import '@xyflow/react/dist/style.css';
import './styles.css';
import ELK from 'elkjs/lib/elk-api.js';
import elkWorkerUrl from 'elkjs/lib/elk-worker.min.js?url';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './components/App.js';
import { start } from './state/boot.js';
import { setElk } from './state/disks.js';

setElk(new ELK({ workerUrl: elkWorkerUrl }));
createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
void start();
