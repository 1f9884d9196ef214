// A host's question for the user: its ssh asking a key's passphrase or a password, or its sudo
// asking for a password. The dialog names the host and shows the asker's own (escaped) words;
// the typed answer lives only in this dialog until it is sent.
import { useState } from 'react';
import { Modal } from '../components/Modal.js';
import { answerPrompt, selectPrompt, usePrompts, type HostPrompt } from '../state/prompts.js';
import './prompt.css';

export function PromptDialog() {
  const prompt = usePrompts(selectPrompt);
  // A new question is a new dialog: its own field, and focus taken and given back again.
  return prompt ? <PromptBody key={prompt.promptId} prompt={prompt} /> : null;
}

const cancel = () => void answerPrompt(null);

const TITLES: Record<HostPrompt['kind'], (host: string) => string> = {
  passphrase: (host) => `Key passphrase to connect to ${host}`,
  password: (host) => `Password to connect to ${host}`,
  sudo: (host) => `sudo password on ${host}`,
  other: (host) => `${host} asks`,
};

function PromptBody({ prompt }: { prompt: HostPrompt }) {
  const [answer, setAnswer] = useState('');
  return (
    <Modal close={cancel} titleId="host-prompt-title" testId="host-prompt-dialog">
      <form
        className="modal host-prompt"
        data-prompt={prompt.promptId}
        data-host={prompt.host}
        data-kind={prompt.kind}
        onSubmit={(e) => {
          e.preventDefault();
          void answerPrompt(answer);
        }}
      >
        <h2 id="host-prompt-title">{TITLES[prompt.kind](prompt.host)}</h2>
        <p className="muted">
          {prompt.kind === 'sudo' ? 'sudo there asks:' : 'ssh asks:'} <code data-testid="host-prompt-text">{prompt.text}</code>
        </p>
        <label htmlFor="host-prompt-answer">{prompt.kind === 'passphrase' ? 'Passphrase' : 'Password'}</label>
        <input
          id="host-prompt-answer"
          data-testid="host-prompt-input"
          type="password"
          value={answer}
          autoComplete="off"
          spellCheck={false}
          autoFocus
          onChange={(e) => setAnswer(e.target.value)}
        />
        {/* No <footer>: another dialog's may stand open below this one, and two would be two landmarks. */}
        <div className="panel-foot">
          <button type="submit" className="primary" data-testid="host-prompt-ok">
            OK
          </button>
          <button type="button" data-testid="host-prompt-cancel" onClick={cancel}>
            Cancel
          </button>
        </div>
      </form>
    </Modal>
  );
}
