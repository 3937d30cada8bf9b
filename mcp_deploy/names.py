"""Physical names: derived from the stack and the component names, within the provider's limit.

Two stacks in one account, project or cluster, and two servers on one platform, must never ask
for the same physical name. Every explicit name therefore starts with the stack, then the
platform's component name, then (for a server's resources) the server's name. When that is longer
than the provider allows, the tail is cut and a short hash of the whole name keeps it unique.
"""

from __future__ import annotations

import hashlib
import re

import pulumi

# Kubernetes names, checked in stack config and again for library programs (k8s/meta.py).
DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"  # a namespace: an RFC 1123 label
LABEL_VALUE = r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?"  # 63 at most

_NOT_ALLOWED = re.compile(r"[^a-z0-9-]+")


def physical_name(*parts: str, limit: int = 63, stack: str | None = None) -> str:
    """`<stack>-<part>-<part>...`, lowercase letters, digits and '-', at most `limit` characters.

    Starts with a letter (GCP and k8s require it) and never ends with '-'. Deterministic: the same
    stack and parts always give the same name, so a preview shows no rename.
    """
    stack = pulumi.get_stack() if stack is None else stack
    raw = "-".join(part for part in (stack, *parts) if part)
    name = _NOT_ALLOWED.sub("-", raw.lower()).strip("-")
    if not name[:1].isalpha():
        name = f"s-{name}"
    if len(name) <= limit:
        return name
    digest = hashlib.sha256(raw.encode()).hexdigest()[:6]
    return f"{name[: limit - 7].rstrip('-')}-{digest}"
