// Imported first by the preload: the page's CSP forbids eval, so zod must not even probe for it
// (the probe, caught or not, is reported as a CSP violation). Schemas are built when
// shared/ipc.ts loads: this runs before that.
import { z } from 'zod';

z.config({ jitless: true });
