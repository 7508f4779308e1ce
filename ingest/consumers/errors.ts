// Errors of the log's consumers that carry the decision (STYLE.md 8): branch on the class, never on text.

/**
 * A lane's checkpoint or snapshot file was written in a newer format than this quantrac knows
 * (docs/on-disk-formats.md): start-up stops instead of misreading it. Going back to an older
 * version means restoring the backup taken before the upgrade.
 */
export class LaneStateError extends Error {
  override readonly name = 'LaneStateError';
  readonly path: string;

  constructor(path: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.path = path;
  }
}
