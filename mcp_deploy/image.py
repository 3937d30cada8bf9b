"""A server's (or the platform's backup job's) image, by digest: built from a context directory for
linux/amd64 and pushed to the registry the target provides, or a prebuilt reference. Workloads
deploy `ref` (name@sha256:...), so a preview shows exactly when the running image changes.

The tag is a hash of the same files pulumi-docker hashes to decide whether to rebuild (see
build_context.py): registries here keep tags immutable, so any change that makes pulumi-docker
build and push again must also give a new tag, or the push is refused. What it hashes
(pulumi-docker provider/provider.go `hashContext`): the Dockerfile, then every file of the context
that the ignore file does not exclude, each as its path, its mode and a hash of its content (a
symlink: its target path). The ignore file is `<Dockerfile>.dockerignore` if present, else
`<context>/.dockerignore`, with Docker's pattern rules (moby/patternmatcher): the last matching
pattern wins, `!` re-includes, a pattern that matches a directory matches everything below it.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

PLATFORM = "linux/amd64"
# Our reference server's context (`build: server`), relative to the project root.
SERVER_CONTEXT = "server"


@dataclass(frozen=True)
class RegistryAccess:
    repository_url: pulumi.Input[str]  # e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com/mcp
    server: pulumi.Input[str]
    # None: push with the local Docker login (`docker login` beforehand).
    username: pulumi.Input[str] | None = None
    password: pulumi.Input[str] | None = None


class McpImage(pulumi.ComponentResource):
    ref: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        prebuilt: str | None,
        registry: RegistryAccess | None,
        opts: pulumi.ResourceOptions | None = None,
        *,
        context: str | Path = SERVER_CONTEXT,
        dockerfile: str | Path | None = None,
        build_args: Mapping[str, pulumi.Input[str]] | None = None,
        tag_inputs: Sequence[str] = (),
    ) -> None:
        """`context` is a build context directory, relative to the project root (where `pulumi up`
        runs) or absolute; `dockerfile` defaults to `<context>/Dockerfile`. Both are ignored when
        `prebuilt` is given. `build_args` change what is built, so `tag_inputs` must hold
        everything about them that can change (their values, or what determines them)."""
        super().__init__("mcp-deploy:index:Image", name, None, opts)
        if prebuilt is not None:
            self.ref = pinned(prebuilt, self)
        else:
            assert registry is not None, "building the image needs the target's registry"
            context_dir = _absolute(context)
            dockerfile_path = _absolute(dockerfile) if dockerfile is not None else context_dir / "Dockerfile"
            image = docker.Image(
                f"{name}-build",
                image_name=pulumi.Output.concat(
                    registry.repository_url, ":", image_tag(context_dir, dockerfile_path, tag_inputs)
                ),
                # Relative to where `pulumi up` runs (the project): plans must not depend on the clone path.
                build=docker.DockerBuildArgs(
                    context=_relative(context_dir),
                    dockerfile=_relative(dockerfile_path),
                    platform=PLATFORM,
                    args=dict(build_args) if build_args else None,
                ),
                registry=docker.RegistryArgs(
                    server=registry.server,
                    username=registry.username,
                    password=pulumi.Output.secret(registry.password)
                    if registry.password is not None
                    else None,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.ref = image.repo_digest
        self.register_outputs({"ref": self.ref})


def image_tag(context: Path, dockerfile: Path | None = None, inputs: Sequence[str] = ()) -> str:
    """`<name>-<16 hex>`: the name (of the Dockerfile's folder: `gateway` for a root context built
    with gateway/Dockerfile, never the clone's own folder name) keeps images of several servers
    apart in one repository; the hash covers every file pulumi-docker hashes, plus the build options that also
    make it rebuild (Dockerfile path, platform)."""
    dockerfile = dockerfile or context / "Dockerfile"
    digest = hashlib.sha256()
    digest.update(_file_digest(dockerfile, "Dockerfile"))
    for path in context_files(context, dockerfile):
        digest.update(_file_digest(context / path, path))
    digest.update(f"\0{_relative_to(dockerfile, context)}\0{PLATFORM}".encode())
    for value in inputs:
        digest.update(b"\0" + value.encode())
    label = re.sub(r"[^a-z0-9]+", "-", dockerfile.resolve().parent.name.lower()).strip("-")[:40] or "context"
    return f"{label}-{digest.hexdigest()[:16]}"


def pinned(reference: str, parent: pulumi.Resource) -> pulumi.Output[str]:
    """A reference with a digest is used as it is; a tag is resolved to its digest now."""
    if "@sha256:" in reference:
        return pulumi.Output.from_input(reference)
    repository = reference.rsplit(":", 1)[0] if ":" in reference.rsplit("/", 1)[-1] else reference
    found = docker.get_registry_image_output(name=reference, opts=pulumi.InvokeOptions(parent=parent))
    return found.sha256_digest.apply(lambda digest: f"{repository}@{digest}")


def _absolute(path: str | Path) -> Path:
    path = Path(path)
    return path if path.is_absolute() else Path.cwd() / path


def _relative(path: Path) -> str:
    return os.path.relpath(path, Path.cwd())


def _relative_to(path: Path, base: Path) -> str:
    return os.path.relpath(path, base).replace(os.sep, "/")


def context_files(context: Path, dockerfile: Path | None = None) -> list[str]:
    """Paths (relative, '/'-separated, sorted) of the files pulumi-docker hashes in `context`."""
    lines = _ignore_file_lines(context, dockerfile or context / "Dockerfile")
    patterns = [_compile(line) for line in lines]
    reopened = [_literal_prefix(line[1:]) for line in lines if line.startswith("!")]
    return sorted(_walk(context, patterns, reopened))


def ignore_patterns(context: Path, dockerfile: Path) -> list[tuple[bool, re.Pattern[str]]]:
    """(is_exception, regex) per line of the ignore file that applies, in file order."""
    return [_compile(line) for line in _ignore_file_lines(context, dockerfile)]


def _ignore_file_lines(context: Path, dockerfile: Path) -> list[str]:
    for candidate in (Path(f"{dockerfile}.dockerignore"), context / ".dockerignore"):
        if candidate.is_file():
            return list(_ignore_lines(candidate.read_text(encoding="utf-8-sig")))
    return []


def _literal_prefix(pattern: str) -> str:
    """The part of a pattern before its first wildcard: only paths under it can match."""
    cut = min((i for i, char in enumerate(pattern) if char in "*?[\\"), default=len(pattern))
    return pattern[:cut]


def ignored(path: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Docker's MatchesOrParentMatches: the last pattern that matches the path or a parent wins."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    result = False
    for exception, regex in patterns:
        if any(regex.match(prefix) for prefix in prefixes):
            result = not exception
    return result


def _ignore_lines(text: str) -> Iterator[str]:
    """As moby/patternmatcher/ignorefile.ReadAll: comments, blanks, '!' and path cleaning."""
    for raw in text.splitlines():
        if raw.startswith("#"):
            continue
        line = raw.strip()
        if not line:
            continue
        exception = line.startswith("!")
        if exception:
            line = line[1:].strip()
        if line:
            line = os.path.normpath(line).replace(os.sep, "/")
            line = line[1:] if len(line) > 1 and line.startswith("/") else line
        yield ("!" if exception else "") + line


def _compile(line: str) -> tuple[bool, re.Pattern[str]]:
    """A Docker ignore pattern as a regex over '/'-separated relative paths."""
    exception = line.startswith("!")
    pattern = line[1:] if exception else line
    out: list[str] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if pattern.startswith("**", i):
            i += 2
            if pattern[i : i + 1] == "/":
                i += 1
            out.append(".*" if i >= len(pattern) else "(.*/)?")
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        elif char in "[]":
            out.append(char)
        else:
            out.append(re.escape(char))
        i += 1
    return exception, re.compile("^" + "".join(out) + "$")


def _walk(context: Path, patterns: list[tuple[bool, re.Pattern[str]]], reopened: list[str]) -> Iterator[str]:
    """Every file and symlink under `context` that is not ignored (directories are not hashed)."""
    # Like fsutil: an ignored directory is skipped whole unless an exception could re-include
    # something below it (server/.venv alone holds thousands of files; a context that is the
    # repository root with `*` and a few `!` lines must not walk every virtualenv).

    def could_reopen(directory: str) -> bool:
        below = directory + "/"
        return any(prefix.startswith(below) or below.startswith(prefix) for prefix in reopened)

    for root, dirs, files in os.walk(context):
        base = Path(root)
        relative = [(name, (base / name).relative_to(context).as_posix()) for name in dirs]
        # os.walk lists symlinks to directories in `dirs` without entering them; fsutil hashes
        # them as links, like files.
        links = [path for name, path in relative if (base / name).is_symlink()]
        dirs[:] = [name for name, path in relative if not ignored(path, patterns) or could_reopen(path)]
        for path in [*((base / name).relative_to(context).as_posix() for name in files), *links]:
            if not ignored(path, patterns):
                yield path


def _file_digest(path: Path, name: str) -> bytes:
    """One entry as pulumi-docker accumulates it: name, mode, content hash (link target for links)."""
    info = path.lstat()
    content = hashlib.sha256()
    if stat.S_ISLNK(info.st_mode):
        content.update(os.readlink(path).encode())
    elif stat.S_ISREG(info.st_mode):
        content.update(path.read_bytes())
    return name.encode() + _git_mode(info.st_mode).encode() + content.digest() + b"\0"


def _git_mode(mode: int) -> str:
    """The mode as git records it (644, 755 or a link). pulumi-docker hashes the full mode, but
    that depends on the checkout's umask (644 under 022, 664 under 002), so the same commit would
    get a different tag on each machine and the plan snapshots would differ. What git tracks is
    what a commit can change; a mode change git does not see is the one case left uncovered."""
    if stat.S_ISLNK(mode):
        return "l"
    return "-rwxr-xr-x" if mode & 0o111 else "-rw-r--r--"
