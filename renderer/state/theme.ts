// The colour theme: the saved choice, else the system's.
import { create } from 'zustand';

export type Theme = 'light' | 'dark';

function initialTheme(): Theme {
  try {
    const saved = localStorage.getItem('diskchain.theme');
    if (saved === 'light' || saved === 'dark') return saved;
  } catch {
    // Storage refused: fall through.
  }
  return typeof matchMedia === 'function' && matchMedia('(prefers-color-scheme: dark)').matches ? 'dark' : 'light';
}

export const useTheme = create<{ theme: Theme }>()(() => ({ theme: initialTheme() }));

export function setTheme(theme: Theme): void {
  useTheme.setState({ theme });
  try {
    localStorage.setItem('diskchain.theme', theme);
  } catch {
    // Not remembered; still applied.
  }
}

export function toggleTheme(): void {
  setTheme(useTheme.getState().theme === 'dark' ? 'light' : 'dark');
}
