// What every view receives: the station store, the live connection, and the chosen AQI scale.
import type { Live } from './data/live.ts';
import type { Store } from './data/store.ts';
import type { Scale } from './domain/air.ts';

export interface Ctx {
  readonly store: Store;
  readonly live: Live;
  scale: Scale;
}

/** A view renders into `root` and returns its clean-up. */
export type View = (root: HTMLElement, ctx: Ctx, params: Readonly<Record<string, string>>) => () => void;
