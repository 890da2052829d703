"""The privacy policy: what is rewritten or removed from a run before any of it leaves the machine.

The local store keeps the raw truth; the policy is applied when rows are published (the results,
traces, metrics and leaderboard datasets, and the cards built from them). In this order, on every
string value at any depth (span attributes and events included):

1. secrets: the values of ``*API_KEY`` / ``*TOKEN`` / ``*SECRET`` / ``*PASSWORD`` environment
   variables and the Hub token, ``hf_...`` / ``sk-...`` shaped strings, and the values of
   credential-named keys (``api_key``, ``authorization``, ...) become ``[REDACTED]``: the runner's
   own ``Redactor``, applied again at publish time;
2. the user's own patterns (``--redact`` and the patterns file) become ``[REDACTED]``;
3. this machine's absolute paths are rewritten: the bundled model's folder to its public id, the
   smoltrace and Hugging Face caches, site-packages, the virtualenv, the current directory and the
   home directory to ``<smoltrace-cache>``, ``<hf-cache>`` (``<hf-hub-cache>``), ``<site-packages>``,
   ``<venv>``, ``.`` and ``~`` (the longest prefix wins);
4. this machine's host names become ``<host>`` and the user's names ``<user>`` (whole words,
   any case).

Keys that only describe the machine or the person (``host.name``, ``process.owner``,
``process.command_args``, ...) are dropped wherever they occur.

Why only this machine's prefixes, not every path-like string: a task's prompt or expected answer may
contain paths on purpose (``/etc/hosts``, ``/home/shared/data.csv``); those are the task author's
text and are published as written. Only strings that start with one of this machine's actual
directories are rewritten. The price: a path recorded on another machine (a runner exporting to a
shared collector) is rewritten only when published from that machine, or by a ``--redact`` pattern.
"""

from __future__ import annotations

import dataclasses
import getpass
import json
import os
import re
import site
import socket
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from smoltrace.hub.rows import RunData
from smoltrace.runner.local_model import BUNDLED_MODEL_DIR_NAME, BUNDLED_PUBLIC_ID, cache_dir
from smoltrace.runner.telemetry import REDACTED, Redactor, secrets_from_environment

REDACT_FILE_ENV = "SMOLTRACE_REDACT_FILE"
USER_LABEL = "<user>"
HOST_LABEL = "<host>"

#: Attribute keys that describe the machine or the person, not the evaluation: dropped everywhere.
DROPPED_KEYS = frozenset({
    "host.name", "host.id", "host.ip", "host.mac", "host.image.id",
    "process.owner", "process.pid", "process.parent_pid", "process.executable.path", "process.executable.name",
    "process.command", "process.command_line", "process.command_args", "process.working_directory",
    "process.user.name", "process.user.id", "process.real_user.name", "process.real_user.id",
    "user.id", "user.name", "user.full_name", "user.email", "enduser.id",
    # the run's configuration as smoltrace-eval --resume re-creates it: absolute paths of this machine's
    # task file and working folder, inside one JSON string that rule 3 would not rewrite; local use only
    "smoltrace.run.resume",
})  # fmt: skip

#: Account and host names that identify nobody; replacing them would mangle ordinary words
#: ("square root"), so they are left alone (paths under their home directory are still rewritten).
GENERIC_NAMES = frozenset({
    "root", "user", "admin", "administrator", "ubuntu", "debian", "runner", "nobody", "guest", "default",
    "localhost", "localhost.localdomain",
})  # fmt: skip

# A prefix matches only as a whole path: not inside a longer name ("/work/main" in "/work/mainframe",
# "/root" in "/x/root"), but before "/", the end, or punctuation ("/work/main." at a sentence's end).
_BEFORE_PATH = r"(?<![\w.~-])"
_AFTER_PATH = r"(?![\w-]|\.\w)"
_NOT_ALNUM_BEFORE = r"(?<![A-Za-z0-9])"
_NOT_ALNUM_AFTER = r"(?![A-Za-z0-9])"


class PolicyError(ValueError):
    """A user pattern or the patterns file is unusable; the message names which and why."""


@dataclass(frozen=True)
class MachineFacts:
    """This machine's identifying strings: its directories (each with its neutral form) and names."""

    paths: tuple[tuple[str, str], ...]  # (absolute directory, replacement)
    user_names: tuple[str, ...]
    host_names: tuple[str, ...]

    @classmethod
    def current(cls) -> MachineFacts:
        """Read from this process: ``$HOME``, ``sys.prefix``, the working directory, the caches, the
        login name (``getpass.getuser()``, which honours ``$LOGNAME``/``$USER``) and ``gethostname()``."""
        from huggingface_hub import constants

        smoltrace_cache = cache_dir()
        paths = [(str(smoltrace_cache / "models" / BUNDLED_MODEL_DIR_NAME), BUNDLED_PUBLIC_ID),
                 (str(smoltrace_cache), "<smoltrace-cache>"), (constants.HF_HOME, "<hf-cache>")]  # fmt: skip
        if not Path(constants.HF_HUB_CACHE).is_relative_to(constants.HF_HOME):  # set apart with $HF_HUB_CACHE
            paths.append((constants.HF_HUB_CACHE, "<hf-hub-cache>"))
        paths += [(directory, "<site-packages>") for directory in _site_packages()]
        venv = sys.prefix if sys.prefix != sys.base_prefix else os.environ.get("VIRTUAL_ENV")
        if venv:
            paths.append((venv, "<venv>"))
        cwd = os.getcwd()
        if len(Path(cwd).parts) > 2:  # "/" or "/tmp" as the working directory would swallow task text
            paths.append((cwd, "."))
        paths.append((os.path.expanduser("~"), "~"))
        return cls(tuple(paths), tuple(_user_names()), tuple(_host_names()))


def _site_packages() -> list[str]:
    return [*site.getsitepackages(), site.getusersitepackages()]


def _user_names() -> list[str]:
    names = []
    try:
        names.append(getpass.getuser())
    except (OSError, KeyError):  # no login name in the environment nor in the password database
        pass
    try:
        import pwd

        entry = pwd.getpwuid(os.getuid())
        names += [entry.pw_name, entry.pw_gecos.split(",")[0]]
    except (ImportError, KeyError):  # Windows, or a uid without an entry (containers)
        pass
    return names


def _host_names() -> list[str]:
    host = socket.gethostname()
    return [host, host.split(".")[0]]


def _identifying(names: Iterable[str]) -> list[str]:
    """Distinct names worth replacing: at least two characters and not generic, longest first."""
    kept = {name.strip() for name in names if name and len(name.strip()) >= 2}
    kept = {name for name in kept if name.lower() not in GENERIC_NAMES}
    return sorted(kept, key=lambda name: (-len(name), name))


def _path_rules(paths: Iterable[tuple[str, str]]) -> dict[str, str]:
    """{directory: replacement}, each directory also in its resolved form (symlinks), "/" never."""
    rules: dict[str, str] = {}
    for directory, replacement in paths:
        if not directory or not os.path.isabs(directory):
            continue
        for form in (os.path.normpath(directory), os.path.realpath(directory)):
            if form != os.sep and form not in rules:
                rules[form] = replacement
    return rules


def _escaped_forms(text: str) -> list[str]:
    """The text as written, and as it appears inside JSON text (``"\\u00e9"``, ``"\\\\"``)."""
    escaped = json.dumps(text)[1:-1]
    return [text] if escaped == text else [text, escaped]


def compile_patterns(patterns: Sequence[tuple[str, str]]) -> list[re.Pattern]:
    """``(pattern, where it came from)`` pairs as regular expressions; PolicyError names a bad one."""
    compiled = []
    for pattern, origin in patterns:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise PolicyError(f"{origin}: {pattern!r} is not a valid regular expression: {exc}") from None
        if regex.fullmatch(""):
            raise PolicyError(f"{origin}: {pattern!r} matches the empty string, so it would redact everywhere")
        compiled.append(regex)
    return compiled


def default_redact_file() -> Path:
    """``$SMOLTRACE_REDACT_FILE``, else ``$XDG_CONFIG_HOME/smoltrace/redact.txt`` (``~/.config``)."""
    if os.environ.get(REDACT_FILE_ENV):
        return Path(os.environ[REDACT_FILE_ENV]).expanduser()
    config_home = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(config_home) / "smoltrace" / "redact.txt"


def read_redact_file(path: Path, *, required: bool) -> list[tuple[str, str]]:
    """One regular expression per line; blank lines and lines starting with ``#`` are skipped.

    A missing file is an error only when the user named it (``required``)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if required:
            raise PolicyError(f"patterns file {path} does not exist") from None
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"cannot read patterns file {path}: {exc}") from None
    patterns = []
    for number, line in enumerate(text.splitlines(), start=1):
        pattern = line.strip()
        if pattern and not pattern.startswith("#"):
            patterns.append((pattern, f"{path}, line {number}"))
    return patterns


class PrivacyPolicy:
    """Rewrites rows for publishing; build one with ``load_policy`` (this machine) or directly (tests)."""

    def __init__(self, machine: MachineFacts, secrets: Sequence[str] = (),
                 patterns: Sequence[tuple[str, str]] = ()):  # fmt: skip
        """``secrets``: literal values to redact; ``patterns``: ``(regex, origin)`` pairs."""
        self.machine = machine
        self.patterns = list(patterns)
        self._redactor = Redactor(secrets)
        self._secret_count = len(secrets)
        self._user_patterns = compile_patterns(self.patterns)
        self.path_rules = _path_rules(machine.paths)
        self.user_names = _identifying(machine.user_names)
        self.host_names = _identifying(machine.host_names)
        self._paths = self._alternation(self.path_rules, _BEFORE_PATH, _AFTER_PATH, 0)
        self._hosts = self._alternation(dict.fromkeys(self.host_names, HOST_LABEL), _NOT_ALNUM_BEFORE,
                                        _NOT_ALNUM_AFTER, re.IGNORECASE)  # fmt: skip
        self._users = self._alternation(dict.fromkeys(self.user_names, USER_LABEL), _NOT_ALNUM_BEFORE,
                                        _NOT_ALNUM_AFTER, re.IGNORECASE)  # fmt: skip

    @staticmethod
    def _alternation(replacements: dict[str, str], before: str, after: str, flags) -> tuple | None:
        """One regex for all terms (longest first, so the longest prefix wins) and its lookup table."""
        table = {}
        for term, replacement in replacements.items():
            for form in _escaped_forms(term):
                table.setdefault(form.lower() if flags & re.IGNORECASE else form, replacement)
        if not table:
            return None
        terms = sorted(table, key=len, reverse=True)
        regex = re.compile(before + "(" + "|".join(map(re.escape, terms)) + ")" + after, flags)
        return regex, table, bool(flags & re.IGNORECASE)

    @staticmethod
    def _replace(rule, text: str) -> str:
        if rule is None:
            return text
        regex, table, fold = rule
        return regex.sub(lambda m: table[m.group(1).lower() if fold else m.group(1)], text)

    def text(self, value: str) -> str:
        """One string after the policy (the order is the module docstring's)."""
        value = self._redactor.text(value)
        for regex in self._user_patterns:
            value = regex.sub(REDACTED, value)
        value = self._replace(self._paths, value)
        value = self._replace(self._hosts, value)
        return self._replace(self._users, value)

    def value(self, value):
        """Any JSON-ready value: strings rewritten, dicts and lists walked, other values unchanged."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return self.row(value)
        if isinstance(value, (list, tuple)):
            return [self.value(item) for item in value]
        return value

    def row(self, row: dict, keep: Iterable[str] = ()) -> dict:
        """A dict with machine keys dropped, credential-named keys redacted and values rewritten;
        keys in ``keep`` pass unchanged (the Hub's own dataset names and account)."""
        keep = frozenset(keep)
        cleaned = {}
        for key, item in row.items():
            if key in keep:
                cleaned[key] = item
            elif key in DROPPED_KEYS:
                continue
            elif self._redactor.value(key, "") == REDACTED:  # a credential-named key ("api_key")
                cleaned[key] = REDACTED
            else:
                cleaned[key] = self.value(item)
        return cleaned

    def rows(self, rows: Iterable[dict]) -> list[dict]:
        return [self.row(row) for row in rows]

    def apply_run(self, data: RunData) -> RunData:
        """Everything a publish uploads about one run, after the policy."""
        return dataclasses.replace(
            data, run_id=self.text(data.run_id), run=self.row(data.run), results=self.rows(data.results),
            spans=self.rows(data.spans), metrics=self.rows(data.metrics), leaderboard=self.rows(data.leaderboard),
        )  # fmt: skip

    def describe(self) -> list[str]:
        """What this policy does on this machine, for ``smoltrace-publish --dry-run``."""
        lines = ["Privacy policy (applied to every published row and card; the local store is unchanged):"]
        for directory, replacement in sorted(self.path_rules.items(), key=lambda item: -len(item[0])):
            lines.append(f"  path {directory} -> {replacement}")
        lines.append(f"  host names -> {HOST_LABEL}: {', '.join(self.host_names) or '(none identifying)'}")
        lines.append(f"  user names -> {USER_LABEL}: {', '.join(self.user_names) or '(none identifying)'}")
        lines.append(f"  keys dropped: {', '.join(sorted(DROPPED_KEYS))}")
        lines.append(f"  secrets -> {REDACTED}: {self._secret_count} value(s) from the environment and the token, "
                     "hf_/sk- shaped strings, credential-named keys")  # fmt: skip
        for pattern, origin in self.patterns:
            lines.append(f"  your pattern {pattern!r} ({origin}) -> {REDACTED}")
        return lines


def load_policy(*, token: str | None = None, patterns: Sequence[str] = (), redact_file: str | Path | None = None,
                machine: MachineFacts | None = None) -> PrivacyPolicy:  # fmt: skip
    """The policy for a publish from this machine.

    ``patterns`` come from ``--redact``; ``redact_file`` (default ``default_redact_file()``, skipped
    when missing) adds one pattern per line. Raises PolicyError for a bad pattern or file."""
    if redact_file is not None:
        from_file = read_redact_file(Path(redact_file).expanduser(), required=True)
    else:
        from_file = read_redact_file(default_redact_file(), required=bool(os.environ.get(REDACT_FILE_ENV)))
    given = [(pattern, "--redact") for pattern in patterns]
    return PrivacyPolicy(machine or MachineFacts.current(), secrets_from_environment([token]), from_file + given)
