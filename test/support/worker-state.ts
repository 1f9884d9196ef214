// Each test file starts with a journal folder of its own (its worker's), so a test that forgets
// to choose one never journals into the system folder, and no two files share a lock.
import { stateDir } from './state.js';

process.env.DISKCHAIN_STATE_DIR ??= stateDir();
