"""The mcp-deploy CrossGuard policy pack: `pulumi preview --policy-pack policy`.

Every rule is MANDATORY. `production-protection` applies when its config says `production`
(see config.prod.json), so the same pack guards dev and prod stacks."""

import os
import sys

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # the CLI runs this file directly

from rules import RULES, Resource, Rule

PRODUCTION = PolicyConfigSchema(properties={"production": {"type": "boolean", "default": False}})


def _validator(rule: Rule):  # the SDK's callable type is long; inferred
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        production = bool((args.get_config() or {}).get("production", False))
        resource = Resource(args.resource_type, args.name, args.props, bool(args.opts.protect))
        for problem in rule.check(resource, production):
            report_violation(f"{problem}. Fix: {rule.remediation}", None)

    return validate


PolicyPack(
    name="mcp-deploy-guardrails",
    description="What must never ship: public data, unencrypted storage, old TLS, root containers, "
    "plain secrets.",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=[
        ResourceValidationPolicy(
            name=rule.name,
            description=rule.description,
            remediation_steps=rule.remediation,
            validate=_validator(rule),
            config_schema=PRODUCTION if rule.name == "production-protection" else None,
        )
        for rule in RULES
    ],
)
