// Types of ops/installed-packages.mjs (plain JavaScript: it runs before node_modules exists).
/** Whether root/node_modules holds exactly what root/package-lock.json pins (by content). */
export function installedMatchesLock(root: string): boolean;
