import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { WhoAmI } from './types';

/** The signed-in principal; every page reads it to decide what to render. */
export const WhoContext = createContext<WhoAmI | null>(null);

export const useWho = (): WhoAmI => {
  const who = useContext(WhoContext);
  if (!who) throw new Error('rendered outside the signed-in shell');
  return who;
};
