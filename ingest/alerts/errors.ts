// Errors of the alert engine that carry the decision (STYLE.md 8): branch on the class, never on text.

/** The rules file is unusable; `problems` lists every issue, one line each. Fatal at start-up. */
export class AlertRulesError extends Error {
  override readonly name = 'AlertRulesError';
  constructor(
    readonly source: string,
    readonly problems: readonly string[],
    options?: ErrorOptions,
  ) {
    super(`invalid alert rules ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
  }
}

/** The alert store's files cannot be read or written; the engine must not continue silently. */
export class AlertStoreError extends Error {
  override readonly name = 'AlertStoreError';
}

/** acknowledge() named an alert that does not exist. */
export class AlertNotFoundError extends Error {
  override readonly name = 'AlertNotFoundError';
  constructor(readonly alertId: string) {
    super(`no alert ${alertId}`);
  }
}
