"""Package specs: exact pins are accepted as written; anything that could resolve to another release
later is refused before a registry is asked, with a message that names the problem."""

from __future__ import annotations

import dataclasses

import pytest
from mcp_bridge.package import PackageSpec, PackageSpecError, parse


@pytest.mark.parametrize(
    ("spec", "kind", "name", "version", "requirement"),
    [
        (
            "npm:@modelcontextprotocol/server-everything@2026.8.31",
            "npm",
            "@modelcontextprotocol/server-everything",
            "2026.8.31",
            "@modelcontextprotocol/server-everything@2026.8.31",
        ),
        ("npm:left-pad@1.3.0", "npm", "left-pad", "1.3.0", "left-pad@1.3.0"),
        ("npm:foo@1.2.3-beta.1", "npm", "foo", "1.2.3-beta.1", "foo@1.2.3-beta.1"),
        ("npm:foo@1.0.0-rc.1+build.5", "npm", "foo", "1.0.0-rc.1+build.5", "foo@1.0.0-rc.1+build.5"),
        ("  npm:foo@0.0.1  ", "npm", "foo", "0.0.1", "foo@0.0.1"),
        (
            "pypi:mcp-server-time==2026.10.19",
            "pypi",
            "mcp-server-time",
            "2026.10.19",
            "mcp-server-time==2026.10.19",
        ),
        ("pypi:Foo_Bar.baz==1.0", "pypi", "Foo_Bar.baz", "1.0", "Foo_Bar.baz==1.0"),
        ("pypi:foo==1.0rc1", "pypi", "foo", "1.0rc1", "foo==1.0rc1"),
        ("pypi:foo==2!1.0.post2.dev3", "pypi", "foo", "2!1.0.post2.dev3", "foo==2!1.0.post2.dev3"),
        ("pypi:foo==1.0+local.7", "pypi", "foo", "1.0+local.7", "foo==1.0+local.7"),
        ("pypi:foo[cli,extra-2]==3.1", "pypi", "foo", "3.1", "foo[cli,extra-2]==3.1"),
    ],
)
def test_exact_pins_are_accepted(spec: str, kind: str, name: str, version: str, requirement: str) -> None:
    parsed = parse(spec)
    assert (parsed.kind, parsed.name, parsed.version) == (kind, name, version)
    assert parsed.spec == spec.strip()
    assert parsed.requirement == requirement


def test_extras_are_kept_and_the_spec_is_frozen() -> None:
    parsed = parse("pypi:foo[a,b]==1.0")
    assert parsed.extras == ("a", "b")
    assert isinstance(parsed, PackageSpec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        parsed.version = "2.0"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spec", "problem"),
    [
        ("", "empty package spec"),
        ("   ", "empty package spec"),
        ("left-pad@1.3.0", "no package kind"),
        ("pip:foo==1.0", "unknown package kind 'pip'"),
        ("docker:foo@1.0.0", "unknown package kind 'docker'"),
        ("npm:foo", "no version"),
        ("npm:@scope/foo", "no version"),
        ("npm:foo@", "empty version"),
        ("npm:foo@^1.2.3", "'^1.2.3' is a range"),
        ("npm:foo@~1.2.3", "'~1.2.3' is a range"),
        ("npm:foo@>=1.0.0", "'>=1.0.0' is a range"),
        ("npm:foo@<2.0.0", "'<2.0.0' is a range"),
        ("npm:foo@*", "'*' is a range"),
        ("npm:foo@1.x", "'1.x' is a range"),
        ("npm:foo@1.2.X", "'1.2.X' is a range"),
        ("npm:foo@x", "'x' is a range"),
        ("npm:foo@1.0.0||2.0.0", "is a range"),
        ("npm:foo@1.2", "partial version"),
        ("npm:foo@1", "partial version"),
        ("npm:foo@latest", "'latest' is a dist-tag"),
        ("npm:foo@next", "'next' is a dist-tag"),
        ("npm:foo@v1.2.3", "without 'v'"),
        ("npm:foo@01.2.3", "not an exact semver version"),
        ("npm:foo@github:user/repo", "not an exact semver version"),
        ("npm:Foo@1.0.0", "'Foo' is not an npm package name"),
        ("npm:@scope@1.0.0", "not an npm package name"),
        ("npm:foo bar@1.0.0", "no spaces"),
        ("npm:foo@1.2.3 - 2.0.0", "no spaces"),
        ("pypi:foo", "no version"),
        ("pypi:foo==", "empty version"),
        ("pypi:foo>=1.0", "'>=' is a range"),
        ("pypi:foo~=1.0", "'~=' is a range"),
        ("pypi:foo!=1.0", "'!=' is a range"),
        ("pypi:foo<2", "'<' is a range"),
        ("pypi:foo=1.0", "'=' is a range"),
        ("pypi:foo==1.*", "wildcard"),
        ("pypi:foo==1.0,<2", "is a range"),
        ("pypi:foo===1.0", "arbitrary equality"),
        ("pypi:foo[cli]>=1.0", "'>=' is a range"),
        ("pypi:foo[]==1.0", "extras"),
        ("pypi:foo[a,,b]==1.0", "extras"),
        ("pypi:foo==1.0;python_version>'3.8'", "environment markers"),
        ("pypi:foo@https://example.com/foo.whl", "URL or path"),
        ("pypi:-foo==1.0", "'-foo' is not a PyPI project name"),
        ("pypi:foo==latest", "'latest' is not a PEP 440 version"),
        ("pypi:foo == 1.0", "no spaces"),
    ],
)
def test_unpinned_or_malformed_specs_are_refused_with_the_reason(spec: str, problem: str) -> None:
    with pytest.raises(PackageSpecError) as refused:
        parse(spec)
    message = str(refused.value)
    assert problem in message
    # The user sees which spec was refused (except the empty one, which has nothing to show).
    if spec.strip():
        assert spec.strip() in message


def test_a_refusal_is_a_value_error() -> None:
    # Config validation (pydantic) turns ValueError into a field error, so the type matters.
    with pytest.raises(ValueError, match="range"):
        parse("pypi:foo>=1")
