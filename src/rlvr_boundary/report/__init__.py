"""The report: claim rows and verdicts, markdown, figures."""
