"""Every app's policy and metadata, read from a folder once at start and kept in memory."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from app.authorization.policy import Policy, PolicyError, parse_policy

_POLICY_LOCATIONS = ("policy.xml", "config/authorization/policy.xml")
_METADATA_LOCATIONS = ("applicationmetadata.json", "config/applicationmetadata.json")
_DEMO_FOLDER = Path(__file__).resolve().parent.parent / "demo" / "policies"

_Parsed = TypeVar("_Parsed")


@dataclass(frozen=True)
class AppMetadata:
    """What this gateway needs from an app's applicationmetadata.json."""

    prevent_instance_deletion_for_days: int | None = None


def parse_app_metadata(raw: bytes, *, source: str) -> AppMetadata:
    """Read applicationmetadata.json (a UTF-8 BOM is tolerated, unknown keys are ignored)."""
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise PolicyError(f"{source}: not valid UTF-8 JSON ({error})") from None
    if not isinstance(document, dict):
        raise PolicyError(f"{source}: expected a JSON object")
    days = document.get("preventInstanceDeletionForDays")
    # bool is an int in Python, but `true` days is a mistake, not a number.
    if days is not None and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
        raise PolicyError(f"{source}: preventInstanceDeletionForDays must be a whole number of days, not {days!r}")
    return AppMetadata(prevent_instance_deletion_for_days=days)


class PolicyRepository:
    """Policies and metadata by app id ("org/app"; the org part is matched lower-case).

    An app whose policy or metadata is malformed is listed in `errors`; asking for its policy
    or metadata raises PolicyError, so that callers deny with a clear message.
    """

    def __init__(
        self,
        *,
        policies: Mapping[str, Policy | None] | None = None,
        metadata: Mapping[str, AppMetadata] | None = None,
        errors: Mapping[str, str] | None = None,
    ) -> None:
        self._policies = {_normalize(key): value for key, value in (policies or {}).items()}
        self._metadata = {_normalize(key): value for key, value in (metadata or {}).items()}
        self._errors = {_normalize(key): value for key, value in (errors or {}).items()}

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PolicyRepository:
        """Load every app under `path`.

        Two layouts are understood, also mixed: `{org}/{app}/policy.xml` with an optional
        `{org}/{app}/applicationmetadata.json`, and an app repository's
        `{org}/{app}/config/authorization/policy.xml` with `{org}/{app}/config/applicationmetadata.json`.
        Raises PolicyError if `path` is not a folder; problems with one app only mark that app.
        """
        root = Path(path)
        if not root.is_dir():
            raise PolicyError(f"{root}: policy folder does not exist or is not a folder")
        policies: dict[str, Policy | None] = {}
        metadata: dict[str, AppMetadata] = {}
        errors: dict[str, str] = {}
        for app_folder in sorted(_subfolders(root, depth=2)):
            app_id = _normalize(f"{app_folder.parent.name}/{app_folder.name}")
            if app_id in policies or app_id in errors:
                errors[app_id] = f"{app_id}: more than one folder holds this app"
                continue
            problems: list[str] = []
            policy = _load_one(app_folder, _POLICY_LOCATIONS, root, parse_policy, problems)
            app_metadata = _load_one(app_folder, _METADATA_LOCATIONS, root, parse_app_metadata, problems)
            if problems:
                errors[app_id] = "; ".join(problems)
            elif policy is not None or app_metadata is not None:
                policies[app_id] = policy
                metadata[app_id] = app_metadata or AppMetadata()
        return cls(policies=policies, metadata=metadata, errors=errors)

    @classmethod
    def demo(cls) -> PolicyRepository:
        """The demo apps shipped with the package (app/demo/policies)."""
        return cls.load(_DEMO_FOLDER)

    @property
    def app_ids(self) -> tuple[str, ...]:
        """Every app found, including those with errors."""
        return tuple(sorted(self._policies.keys() | self._errors.keys()))

    @property
    def errors(self) -> dict[str, str]:
        return dict(self._errors)

    def policy(self, app_id: str) -> Policy | None:
        """The app's policy; None for an unknown app or an app without policy.xml."""
        key = _normalize(app_id)
        self._raise_if_broken(key)
        return self._policies.get(key)

    def metadata(self, app_id: str) -> AppMetadata:
        """The app's metadata; the defaults when it has no applicationmetadata.json."""
        key = _normalize(app_id)
        self._raise_if_broken(key)
        return self._metadata.get(key, AppMetadata())

    def _raise_if_broken(self, key: str) -> None:
        if key in self._errors:
            raise PolicyError(self._errors[key])


def _normalize(app_id: str) -> str:
    org, slash, app = app_id.partition("/")
    return f"{org.lower()}{slash}{app}"


def _subfolders(folder: Path, depth: int) -> list[Path]:
    # Hidden folders (.git, .DS_Store-like leftovers) are never apps or orgs.
    children = [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if depth == 1:
        return children
    return [grandchild for child in children for grandchild in _subfolders(child, depth - 1)]


def _load_one(
    app_folder: Path,
    locations: tuple[str, ...],
    root: Path,
    parse: Callable[..., _Parsed],
    problems: list[str],
) -> _Parsed | None:
    """Parse the one file found at `locations`, or return None; problems go to `problems`."""
    found = [app_folder / location for location in locations if (app_folder / location).is_file()]
    if not found:
        return None
    source = found[0].relative_to(root).as_posix()
    if len(found) > 1:
        problems.append(f"{source}: also found at {found[1].relative_to(root).as_posix()}")
        return None
    try:
        return parse(found[0].read_bytes(), source=source)
    except OSError as error:
        problems.append(f"{source}: cannot be read ({error.strerror})")
    except PolicyError as error:
        problems.append(str(error))
    return None
