"""Notifications through Apprise (Slack, Discord, e-mail, ntfy, JSON webhooks…), from the `notify:` URLs.

A notification is sent only when a policy changed, or a policy's error state began or ended, so that a
scheduled run stays silent while nothing happens. Apprise is an optional extra (`policywatch[notify]`).
"""

from __future__ import annotations

from dataclasses import dataclass

from policywatch.core import CHANGED, CheckReport, PolicyReport
from policywatch.report.base import section_label

INSTALL_HINT = "pip install 'policywatch[notify]'"
_MAX_EVIDENCE = 200
# Chat services refuse long messages (Discord takes 2,000 characters), so the body is cut to this size,
# the most important first; `policywatch diff` and the reports have the rest.
MAX_BODY = 1_900


class NotifyError(Exception):
    """Notifications could not be sent; the check itself is unaffected."""


@dataclass(frozen=True, slots=True)
class Notification:
    title: str
    body: str
    failing: bool  # a risky finding or a new error: sent as a failure, not as information


def worth_notifying(policy: PolicyReport) -> bool:
    return policy.status == CHANGED or (policy.failure is not None and policy.error_is_new) or policy.recovered_from is not None


def _rank(policy: PolicyReport) -> int:
    """Risky changes first, then new errors, other changes and recoveries: a cut message keeps the news."""
    if any(finding.fails for finding in policy.findings()):
        return 0
    return 1 if policy.failure is not None else 2 if policy.status == CHANGED else 3


def _policy_lines(policy: PolicyReport) -> list[str]:
    heading = f"{policy.name} ({policy.id})"
    if policy.failure is not None:
        lines = [f"{heading}: {policy.failure.kind}: {policy.failure.message}", policy.url, f"hint: {policy.failure.hint}"]
    elif policy.recovered_from:
        lines = [f"{heading}: recovered (was failing: {policy.recovered_from})", policy.url]
    else:
        lines = [f"{heading}: {len(policy.changes)} changed clause(s)", policy.url]
    findings = [(change, finding) for change in policy.changes for finding in change.findings]
    findings.sort(key=lambda item: (not item[1].fails, -item[1].severity))
    for change, finding in findings:
        evidence = finding.evidence[:_MAX_EVIDENCE]
        lines.append(f"- {finding.severity.label} {finding.event} {finding.category}: \"{evidence}\" ({section_label(change.section)})")
    return lines


def _fit(blocks: list[list[str]]) -> str:
    """The blocks, one blank line apart, cut at a line to fit MAX_BODY with a last line saying so."""
    lines = [line for number, block in enumerate(blocks) for line in ([""] if number else []) + block]
    body = "\n".join(lines)
    if len(body) <= MAX_BODY:
        return body
    kept, size = [], 0
    for line in lines:
        if size + len(line) + 1 > MAX_BODY - 150:  # room for the last line
            break
        kept.append(line)
        size += len(line) + 1
    cut = sum(1 for line in lines[len(kept):] if line)
    return "\n".join([*kept, f"… {cut} more line(s) cut to fit chat services; `policywatch list` and `policywatch diff ID` show everything"])


def notification_for(report: CheckReport) -> Notification | None:
    """What to tell people about this run, or None when nothing is worth a message."""
    policies = sorted((policy for policy in report.policies if worth_notifying(policy)), key=_rank)
    if not policies:
        return None
    changed = sum(1 for policy in policies if policy.status == CHANGED)
    failing = sum(1 for policy in policies if policy.failure is not None)
    recovered = sum(1 for policy in policies if policy.recovered_from)
    risky = len(report.failing_findings())
    parts = [f"{changed} changed"] if changed else []
    parts += [f"{risky} risky finding(s)"] if risky else []
    parts += [f"{failing} failing"] if failing else []
    parts += [f"{recovered} recovered"] if recovered else []
    body = _fit([_policy_lines(policy) for policy in policies])
    return Notification(f"policywatch: {', '.join(parts)}", body, failing=bool(risky or failing))


def _redacted(url: str) -> str:
    """A notification URL without its secrets (tokens and passwords live in it)."""
    scheme, _, _ = url.partition("://")
    return f"{scheme}://…"


def _apprise():
    try:
        import apprise
    except ImportError:
        raise NotifyError(f"policies.yaml has notify URLs but Apprise is not installed ({INSTALL_HINT})") from None
    return apprise


def send(urls: tuple[str, ...], report: CheckReport) -> Notification | None:
    """Send this run's notification to every URL; returns what was sent (None: nothing worth sending)."""
    if not urls:
        return None
    apprise = _apprise()  # before looking at the report, so a missing install is said on every run, not at the first change
    notification = notification_for(report)
    if notification is None:
        return None
    sender = apprise.Apprise()
    for url in urls:
        if not sender.add(url):
            raise NotifyError(f"not a notification URL Apprise understands: {_redacted(url)}")
    kind = apprise.NotifyType.FAILURE if notification.failing else apprise.NotifyType.INFO
    if not sender.notify(title=notification.title, body=notification.body, notify_type=kind, body_format=apprise.NotifyFormat.TEXT):
        raise NotifyError("at least one notification service refused the message or could not be reached")
    return notification


def invalid_urls(urls: tuple[str, ...]) -> list[str]:
    """The URLs Apprise cannot use (redacted), for `validate`; raises NotifyError when Apprise is missing."""
    apprise = _apprise()
    return [_redacted(url) for url in urls if not apprise.Apprise().add(url)]
