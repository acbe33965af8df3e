"""Real git repositories in several layouts, and real `-cover` binaries built from them.

Layouts: a single module with a file generated at build time, a multi-module repository
with a `go.work` workspace (and a package `apiserver` beside the module `api`), a
vendored dependency, and a module renamed upstream (`coreos/widget` -> `widget-org/widget`).
Each binary is built from a checkout of one commit and run once, so its covmeta paths
are genuine, and laid out as a collection entry whose info.json names its source.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from coverage_collector.collection import EntryMetadata, SourceInfo
from tests.helpers.gofixtures import GO_MAIN, _run_program, cache_root, go_binary, go_env

MAIN = 'package main\n\nimport "fmt"\n\nfunc main() {{\n{body}}}\n'


def git(*args: str, cwd: Path) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    return subprocess.run(
        ["git", *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(repo: Path, files: dict[str, str], message: str) -> str:
    """Write `files` into `repo` (creating it), commit them, return the commit."""
    if not (repo / ".git").exists():
        repo.mkdir(parents=True)
        git("init", "-q", "-b", "main", cwd=repo)
        git("config", "uploadpack.allowAnySHA1InWant", "true", cwd=repo)
    for name, text in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", message, cwd=repo)
    return git("rev-parse", "HEAD", cwd=repo)


def _pkg(name: str, func: str, body: str = "\treturn 1\n") -> str:
    return f"package {name}\n\nfunc {func}() int {{\n{body}}}\n"


@dataclass(frozen=True)
class Built:
    """A binary built from `repo` at `commit`, and the source its entry records."""

    name: str
    repo: Path
    commit: str
    source_url: str
    source_commit: str
    covdir: Path


def make_repositories(upstream: Path) -> dict[str, tuple[Path, list[str]]]:
    """Create the repositories; return name -> (path, commits)."""
    repos: dict[str, tuple[Path, list[str]]] = {}
    shop = upstream / "example" / "shop"
    first = commit(
        shop,
        {
            "go.mod": "module example.com/shop\n\ngo 1.21\n",
            "cmd/shop/main.go": MAIN.format(
                body="\tfmt.Println(store.Get(), generated())\n"
            ).replace(
                'import "fmt"', 'import (\n\t"fmt"\n\n\t"example.com/shop/internal/store"\n)'
            ),
            "internal/store/store.go": _pkg("store", "Get"),
            ".gitignore": "cmd/shop/zz_generated.go\n",
        },
        "shop v1",
    )
    second = commit(shop, {"internal/store/store.go": _pkg("store", "Get", "\treturn 2\n")}, "v2")
    repos["shop"] = (shop, [first, second])
    platform = upstream / "example" / "platform"
    repos["platform"] = (
        platform,
        [
            commit(
                platform,
                {
                    "go.mod": "module example.com/platform\n\ngo 1.21\n",
                    "go.work": "go 1.21\n\nuse (\n\t.\n\t./api\n)\n",
                    "api/go.mod": "module example.com/platform/api // the API module\n\ngo 1.21\n",
                    "api/types.go": _pkg("api", "Version"),
                    "apiserver/server.go": _pkg("apiserver", "Serve"),
                    "cmd/platform/main.go": MAIN.format(
                        body="\tfmt.Println(api.Version(), apiserver.Serve())\n"
                    ).replace(
                        'import "fmt"',
                        'import (\n\t"fmt"\n\n\t"example.com/platform/api"\n'
                        '\t"example.com/platform/apiserver"\n)',
                    ),
                },
                "platform",
            )
        ],
    )
    tool = upstream / "example" / "tool"
    repos["tool"] = (
        tool,
        [
            commit(
                tool,
                {
                    "go.mod": "module example.com/tool\n\ngo 1.21\n\n"
                    "require example.com/dep v1.0.0\n",
                    "main.go": MAIN.format(body="\tfmt.Println(dep.Answer())\n").replace(
                        'import "fmt"', 'import (\n\t"fmt"\n\n\t"example.com/dep"\n)'
                    ),
                    "vendor/modules.txt": (
                        "# example.com/dep v1.0.0\n## explicit\nexample.com/dep\n"
                    ),
                    "vendor/example.com/dep/dep.go": _pkg("dep", "Answer", "\treturn 42\n"),
                },
                "tool",
            )
        ],
    )
    widget = upstream / "example" / "widget"
    old = commit(
        widget,
        {
            "go.mod": "module example.com/coreos/widget\n\ngo 1.21\n",
            "pkg/w/w.go": _pkg("w", "W"),
            "main.go": MAIN.format(body="\tfmt.Println(w.W())\n").replace(
                'import "fmt"', 'import (\n\t"fmt"\n\n\t"example.com/coreos/widget/pkg/w"\n)'
            ),
        },
        "widget under coreos",
    )
    new = commit(
        widget,
        {
            "go.mod": "module example.com/widget-org/widget\n\ngo 1.21\n",
            "main.go": MAIN.format(body="\tfmt.Println(w.W())\n").replace(
                'import "fmt"', 'import (\n\t"fmt"\n\n\t"example.com/widget-org/widget/pkg/w"\n)'
            ),
        },
        "renamed to widget-org",
    )
    repos["widget"] = (widget, [old, new])
    return repos


# (binary, repo, commit index, target, flags, recorded source commit index or None)
BUILDS = (
    ("shop", "shop", 0, "./cmd/shop", [], 0),
    (
        "platform",
        "platform",
        0,
        "./cmd/platform",
        ["-coverpkg=example.com/platform/...,example.com/platform/api/..."],
        0,
    ),
    ("platform-tool", "platform", 0, "./cmd/platform", ["-covermode=count"], None),
    ("tool", "tool", 0, ".", ["-mod=vendor", "-coverpkg=example.com/tool/...,example.com/dep"], 0),
    ("widget-new", "widget", 1, ".", [], 1),
    ("widget-old", "widget", 0, ".", [], None),
)


def build_binaries(upstream: Path, work: Path) -> list[Built]:
    """Build and run every binary of BUILDS from a checkout of its commit."""
    go = go_binary(GO_MAIN)
    assert go is not None
    env = go_env(cache_root())
    repos = make_repositories(upstream)
    work.mkdir(parents=True, exist_ok=True)
    built = []
    for name, repo_name, index, target, flags, recorded in BUILDS:
        repo, commits = repos[repo_name]
        tree = work / "trees" / name
        shutil.rmtree(tree, ignore_errors=True)
        git("clone", "-q", str(repo), str(tree), cwd=work)
        git("-c", "advice.detachedHead=false", "checkout", "-q", commits[index], cwd=tree)
        if name == "shop":  # generated at build time: in the binary, not in the repository
            (tree / "cmd" / "shop" / "zz_generated.go").write_text(
                "package main\n\nfunc generated() int {\n\treturn 7\n}\n", encoding="utf-8"
            )
        binary = _build_in(go, env, tree, work / "bin" / name, target, flags)
        covdir = work / "cov" / name
        _run_program(binary, [], env, covdir)
        source_commit = commits[recorded] if recorded is not None else ""
        source_url = str(repo) if recorded is not None else ""
        built.append(Built(name, repo, commits[index], source_url, source_commit, covdir))
    return built


def _build_in(
    go: Path, env: dict[str, str], tree: Path, out: Path, target: str, flags: list[str]
) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    build_env = {k: v for k, v in env.items() if k != "GOWORK"}  # go.work applies where present
    build_env["GOFLAGS"] = ""
    subprocess.run(
        [str(go), "build", "-cover", "-buildvcs=false", *flags, "-o", str(out), target],
        cwd=tree,
        env=build_env,
        check=True,
        capture_output=True,
    )
    return out


def make_sourced_collection(root: Path, built: list[Built]) -> None:
    """Lay the binaries out as entries of a collection (one pod each)."""
    for item in built:
        entry = root / "coverage" / f"node-1-apps-{item.name}-7d9f8c6b5d-x2k4p-{item.name}"
        entry.mkdir(parents=True)
        for path in item.covdir.iterdir():
            shutil.copy2(path, entry / path.name)
        EntryMetadata(
            pod_name=f"{item.name}-7d9f8c6b5d-x2k4p",
            namespace="apps",
            container_name=item.name,
            image=f"quay.io/example/{item.name}:v1",
            binary_name=item.name,
            hostname="node-1",
        ).write(str(entry))
        SourceInfo(source_url=item.source_url, source_commit=item.source_commit).write(str(entry))


def compile_and_resolve_sample(collection: Path) -> None:
    """Compile `collection` (entries of the demo's sample services) and clone and resolve its
    sources from the git bundles shipped with the sample (no network)."""
    from importlib import resources

    from coverage_collector import compile, sources
    from coverage_collector.demo import SAMPLE_ORIGIN, SOURCES

    assert compile.run(compile.Options(collection=str(collection), max_concurrency=1)).ok
    with resources.as_file(SOURCES) as bundles:
        options = sources.Options(
            collection=str(collection),
            inspect_images=False,
            git_mirrors={SAMPLE_ORIGIN: str(bundles)},
        )
        assert sources.run(options).ok
