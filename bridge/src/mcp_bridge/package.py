"""Package specs for stdio servers: `npm:<name>@<version>` or `pypi:<name>==<version>`, exact only.

An image is built once per spec and every replica must run the same bytes, so anything that could
resolve to a different release later (ranges, tags, wildcards, URLs) is refused here, before any
registry is asked. Regexes rather than `packaging` keep the bridge free of a dependency it would
need for this alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["npm", "pypi"]


class PackageSpecError(ValueError):
    """A spec the platform will not build: the message says what is wrong and how to pin it."""


@dataclass(frozen=True)
class PackageSpec:
    kind: Kind
    name: str
    version: str
    spec: str
    extras: tuple[str, ...] = field(default=())

    @property
    def requirement(self) -> str:
        """What the package manager is asked to install."""
        if self.kind == "npm":
            return f"{self.name}@{self.version}"
        extras = f"[{','.join(self.extras)}]" if self.extras else ""
        return f"{self.name}{extras}=={self.version}"


# npm's own rules (validate-npm-package-name): lower case, URL-safe, optional @scope/, <= 214 chars.
_NPM_PART = r"[a-z0-9~-][a-z0-9._~-]*"
_NPM_NAME = re.compile(rf"(?:@{_NPM_PART}/)?{_NPM_PART}")
_NPM_NAME_MAX = 214

# semver.org 2.0.0's recommended expression: MAJOR.MINOR.PATCH[-prerelease][+build].
_SEMVER = re.compile(
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?"
    r"(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?"
)
_NPM_RANGE_CHARS = set("^~<>=*|") | {" "}

# PEP 508 names and extras.
_PYPI_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?")
_PYPI_REQUIREMENT = re.compile(r"(?P<name>[^\[\]=<>!~;@ ]+)(?:\[(?P<extras>[^\]]*)\])?(?P<rest>.*)")

# PEP 440's public grammar (as in packaging.version.VERSION_PATTERN) plus a local label; no wildcard.
_PEP440 = re.compile(
    r"""
    v?
    (?:[0-9]+!)?
    [0-9]+(?:\.[0-9]+)*
    (?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?
    (?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?
    (?:[-_.]?dev[-_.]?[0-9]*)?
    (?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?
    """,
    re.VERBOSE | re.IGNORECASE,
)


def parse(spec: str) -> PackageSpec:
    """The pinned package a spec names, or PackageSpecError saying why it is not one."""
    if not isinstance(spec, str) or not spec.strip():
        raise PackageSpecError("empty package spec: use npm:<name>@<version> or pypi:<name>==<version>")
    text = spec.strip()
    if any(ch.isspace() for ch in text):
        raise PackageSpecError(f"{text!r}: a package spec has no spaces")
    kind, sep, rest = text.partition(":")
    if not sep or kind not in ("npm", "pypi"):
        raise PackageSpecError(
            f"{text!r}: unknown package kind {kind!r} (use npm:<name>@<version> or pypi:<name>==<version>)"
            if sep
            else f"{text!r}: no package kind (use npm:<name>@<version> or pypi:<name>==<version>)"
        )
    if kind == "npm":
        return _npm(text, rest)
    return _pypi(text, rest)


def _npm(text: str, rest: str) -> PackageSpec:
    # The version follows the last "@" that is not the scope's leading one.
    at = rest.rfind("@")
    if at <= 0:
        raise PackageSpecError(f"{text!r}: no version; pin an exact one, e.g. npm:{rest or '<name>'}@1.2.3")
    name, version = rest[:at], rest[at + 1 :]
    if len(name) > _NPM_NAME_MAX or not _NPM_NAME.fullmatch(name):
        raise PackageSpecError(
            f"{text!r}: {name!r} is not an npm package name (lower case, optional @scope/, no spaces)"
        )
    if not version:
        raise PackageSpecError(f"{text!r}: empty version after '@'; pin an exact one, e.g. {name}@1.2.3")
    if _SEMVER.fullmatch(version):
        return PackageSpec(kind="npm", name=name, version=version, spec=text)
    if version.startswith("v") and _SEMVER.fullmatch(version[1:]):
        raise PackageSpecError(f"{text!r}: write the version without 'v': {name}@{version[1:]}")
    if set(version) & _NPM_RANGE_CHARS or re.search(r"(?:^|\.)[xX*](?:\.|$)", version):
        raise PackageSpecError(
            f"{text!r}: version {version!r} is a range; pin an exact version (MAJOR.MINOR.PATCH)"
        )
    if re.fullmatch(r"\d+(?:\.\d+)?", version):
        raise PackageSpecError(
            f"{text!r}: version {version!r} is a range (a partial version); "
            "pin all three parts, MAJOR.MINOR.PATCH"
        )
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9._-]*", version):
        raise PackageSpecError(
            f"{text!r}: {version!r} is a dist-tag, which moves; pin an exact version (MAJOR.MINOR.PATCH)"
        )
    raise PackageSpecError(
        f"{text!r}: version {version!r} is not an exact semver version (MAJOR.MINOR.PATCH)"
    )


def _pypi(text: str, rest: str) -> PackageSpec:
    match = _PYPI_REQUIREMENT.fullmatch(rest)
    if not rest or match is None:
        raise PackageSpecError(f"{text!r}: no package name; use pypi:<name>==<version>")
    name, extras_text, tail = match["name"], match["extras"], match["rest"]
    if not _PYPI_NAME.fullmatch(name):
        raise PackageSpecError(f"{text!r}: {name!r} is not a PyPI project name (PEP 508)")
    extras: tuple[str, ...] = ()
    if extras_text is not None:
        extras = tuple(part for part in extras_text.split(","))
        bad = [extra for extra in extras if not _PYPI_NAME.fullmatch(extra)]
        if bad or not extras:
            raise PackageSpecError(f"{text!r}: extras [{extras_text}] are not names separated by commas")
    if ";" in tail:
        raise PackageSpecError(f"{text!r}: environment markers (';') are not allowed; pin name==version")
    if tail.startswith("@"):
        raise PackageSpecError(f"{text!r}: URL or path requirements are not allowed; pin name==version")
    if not tail:
        raise PackageSpecError(f"{text!r}: no version; pin an exact one, e.g. pypi:{name}==1.2.3")
    if tail.startswith("==="):
        raise PackageSpecError(f"{text!r}: '===' (arbitrary equality) is not allowed; use name==version")
    if not tail.startswith("=="):
        operator = re.match(r"[<>!~=]*", tail)
        shown = operator.group(0) if operator and operator.group(0) else tail[:1]
        raise PackageSpecError(f"{text!r}: {shown!r} is a range; pin an exact version with '=='")
    version = tail[2:]
    if not version:
        raise PackageSpecError(f"{text!r}: empty version after '=='; pin an exact one, e.g. {name}==1.2.3")
    if "," in version or any(op in version for op in ("<", ">", "!=", "~", "=")):
        raise PackageSpecError(f"{text!r}: {tail!r} is a range; pin one exact version with '=='")
    if "*" in version:
        raise PackageSpecError(f"{text!r}: '{version}' is a wildcard; pin an exact version with '=='")
    if not _PEP440.fullmatch(version):
        raise PackageSpecError(f"{text!r}: {version!r} is not a PEP 440 version")
    return PackageSpec(kind="pypi", name=name, version=version, spec=text, extras=extras)
