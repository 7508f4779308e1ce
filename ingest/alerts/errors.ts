// Errors of the alert engine that carry the decision (STYLE.md 8): branch on the class, never on text.

/** The rules file is unusable; `problems` lists every issue, one line each. Fatal at start-up. */
export class AlertRulesError extends Error {
  override readonly name = 'AlertRulesError';
  readonly source: string;
  readonly problems: readonly string[];

  constructor(source: string, problems: readonly string[], options?: ErrorOptions) {
    super(`invalid alert rules ${source}:\n${problems.map((p) => `  - ${p}`).join('\n')}`, options);
    this.source = source;
    this.problems = problems;
  }
}

/** The alert store's files cannot be read or written; the engine must not continue silently. */
export class AlertStoreError extends Error {
  override readonly name = 'AlertStoreError';
}

/** acknowledge() named an alert that does not exist. */
export class AlertNotFoundError extends Error {
  override readonly name = 'AlertNotFoundError';
  readonly alertId: string;

  constructor(alertId: string) {
    super(`no alert ${alertId}`);
    this.alertId = alertId;
  }
}
