"""What editors and publishers do in the studio, each step audited: read versions and their files, compare two,
make a draft from a version with edited files, try an utterance on a draft beside the live version, publish and
roll back. Editors and publishers may read, draft and try; only publishers publish or roll back, and (with the
two-person rule) never a draft they authored."""
from __future__ import annotations

import asyncio
import difflib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.catalog.importer import CatalogReadError, ImportReport
from bot.content import Content
from bot.errors import Forbidden, Invalid, NotFound
from bot.lifecycle import Role
from bot.ports import AuditLog
from bot.refusals import audit_refusals
from bot.staff import Staff
from bot.studio.catalog_import import IMPORTED, imported_catalog
from bot.studio.compare import compare
from bot.studio.forms import FormError, apply_item, apply_prompts
from bot.studio.gate import GateReport
from bot.studio.live import LiveContent
from bot.studio.releases import Releases
from bot.studio.validation import Validation, Validator
from bot.studio.versions import ContentVersion, Files, Publication, VersionStore, safe_path

STUDIO_ROLES = frozenset({Role.editor, Role.publisher})
PUBLISHERS = frozenset({Role.publisher})
MAX_FILE_CHARS = 2_000_000
DRAFTS_KEPT = 2  # drafts tried lately, kept built: trying one utterance after another does not rebuild
REPORTS_KEPT = 8  # 对比报告 kept per (version, live version)


def author_of(staff: Staff) -> str:
    """How a staff member is named as a version's author (the two-person rule compares the id part)."""
    return f"staff:{staff.id} {staff.name}"


@dataclass(frozen=True)
class Overview:
    live: str | None
    versions: list[ContentVersion]
    history: list[Publication]


@dataclass(frozen=True)
class Draft:
    version: ContentVersion
    report: GateReport


@dataclass(frozen=True)
class CatalogImport:
    """A 实施清单 imported into a draft (None when the importer accepted no row) and the importer's row report."""

    draft: Draft | None
    rows: ImportReport


@dataclass(frozen=True)
class FormEdit:
    """One edit to check: a whole file's text (`path`), fields of one catalog item, or prompts' texts."""

    path: str | None = None
    text: str | None = None
    item: str | None = None
    fields: dict[str, Any] | None = None
    prompts: dict[str, str] | None = None

    def changes(self, files: Files) -> dict[str, str]:
        """The files this edit changes (path -> new text); FormError for an unknown item."""
        if self.path is not None and self.text is not None:
            return {self.path: self.text}
        if self.item is not None:
            return apply_item(files, self.item, self.fields or {})
        return apply_prompts(files, self.prompts or {})


class Studio:
    def __init__(self, store: VersionStore, releases: Releases, live: LiveContent, audit: AuditLog, *,
                 two_person_rule: bool, labelled: Path | None = None) -> None:
        self._store, self._releases, self._live, self._audit = store, releases, live, audit
        self._two_person_rule = two_person_rule
        self._labelled = labelled  # the labelled utterances' TSV the 对比报告 judges on, beside each version's own
        self._drafts: OrderedDict[str, Content] = OrderedDict()
        self._reports: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
        self._validator = Validator()

    async def overview(self, staff: Staff) -> Overview:
        async with audit_refusals(self._audit, staff, "studio_list", None):
            _require(staff, STUDIO_ROLES)
        live = await self._store.live()
        overview = Overview(live[0] if live else None, await self._store.recent(), await self._store.history())
        await self._audit.record(staff, "studio_list", None, {"count": len(overview.versions)})
        return overview

    async def files(self, staff: Staff, version: str) -> tuple[ContentVersion, Files]:
        async with audit_refusals(self._audit, staff, "studio_files", None, version=version):
            _require(staff, STUDIO_ROLES)
            meta, files = await self._store.get(version), await self._store.files(version)
            if meta is None or files is None:
                raise NotFound(f"no content version {version}")
        await self._audit.record(staff, "studio_files", None, {"version": version})
        return meta, files

    async def diff(self, staff: Staff, old: str, new: str) -> dict[str, str]:
        """A unified diff per changed file (added and removed files included)."""
        async with audit_refusals(self._audit, staff, "studio_diff", None, old=old, new=new):
            _require(staff, STUDIO_ROLES)
            before, after = await self._store.files(old), await self._store.files(new)
            if before is None or after is None:
                raise NotFound("no such content version")
        await self._audit.record(staff, "studio_diff", None, {"old": old, "new": new})
        return {path: "".join(difflib.unified_diff(before.get(path, "").splitlines(keepends=True),
                                                   after.get(path, "").splitlines(keepends=True),
                                                   f"a/{path}", f"b/{path}"))
                for path in sorted(set(before) | set(after)) if before.get(path) != after.get(path)}

    async def base(self, version: str | None) -> tuple[str, Files]:
        """A version's id and files (the live version's when `version` is None) for a caller that audits its own
        use; NotFound when there is none."""
        if version is None:
            live = await self._store.live()
            version = live[0] if live else None
        files = await self._store.files(version) if version else None
        if version is None or files is None:
            raise NotFound(f"no content version {version or '(live)'}")
        return version, files

    async def draft(self, staff: Staff, base: str, edits: Mapping[str, str | None], message: str) -> Draft:
        """A new version: `base` with each edited file replaced (None deletes it), stored with the checks' report
        (a draft may fail them; it cannot be published until it passes)."""
        async with audit_refusals(self._audit, staff, "studio_draft", None, base=base):
            _require(staff, STUDIO_ROLES)
            files = await self._store.files(base)
            if files is None:
                raise NotFound(f"no content version {base}")
        bad = [p for p, text in edits.items() if not safe_path(p) or (text is not None and len(text) > MAX_FILE_CHARS)]
        if bad:
            raise Invalid(f"file paths must stay inside intents/ and files be under {MAX_FILE_CHARS} characters: "
                          + ", ".join(bad))
        changed = {p: t for p, t in {**files, **edits}.items() if t is not None}
        report = await self._releases.check(changed)
        version = await self._releases.store(changed, parent=base, source="studio", author=author_of(staff),
                                             message=message)
        await self._audit.record(staff, "studio_draft", None, {"version": version.id, "base": base,
                                                               "files": sorted(edits), "passed": report.passed})
        return Draft(version, report)

    async def trial(self, staff: Staff, version: str, text: str) -> dict[str, object]:
        """What the matcher makes of `text` on `version` and on the live version."""
        async with audit_refusals(self._audit, staff, "studio_try", None, version=version):
            _require(staff, STUDIO_ROLES)
            files = await self._store.files(version)
            if files is None:
                raise NotFound(f"no content version {version}")
        draft = self._live.loaded(version) or await self._draft_content(version, files)
        live, content = self._live.current()
        await self._audit.record(staff, "studio_try", None, {"version": version})
        return {"text": text, "draft": _matched(version, draft, text), "live": _matched(live, content, text)}

    async def validate(self, staff: Staff, base: str, edit: FormEdit) -> Validation:
        """The checks' findings on `base` with `edit` applied, built in memory and not stored (cheap to repeat: the
        findings of unchanged files are reused)."""
        async with audit_refusals(self._audit, staff, "studio_validate", None, base=base):
            _require(staff, STUDIO_ROLES)
            files = await self._store.files(base)
            if files is None:
                raise NotFound(f"no content version {base}")
            try:
                edits = edit.changes(files)
            except FormError as exc:
                raise Invalid(str(exc)) from None
            bad = [p for p in edits if not safe_path(p)]
            if bad:
                raise Invalid("file paths must stay inside intents/: " + ", ".join(bad))
        result = await self._validator.validate(files, edits, edit.item, edit.prompts is not None)
        await self._audit.record(staff, "studio_validate", None, {"base": base, "files": sorted(edits),
                                                                  "errors": len(result.errors)})
        return result

    async def may_import(self, staff: Staff) -> None:
        """Forbidden (audited) for a role that may not import: checked before a byte of the file is read."""
        async with audit_refusals(self._audit, staff, "studio_import", None):
            _require(staff, STUDIO_ROLES)

    async def import_catalog(self, staff: Staff, data: bytes, filename: str, message: str) -> CatalogImport:
        """A draft from the live version whose catalog/imported.yaml holds the rows of a 实施清单 CSV/XLSX that the
        importer accepts (as `python -m bot import-catalog FILE` writes it), with the importer's row report."""
        async with audit_refusals(self._audit, staff, "studio_import", None, filename=filename):
            _require(staff, STUDIO_ROLES)
            live = await self._store.live()
            if live is None:
                raise NotFound("no live content version to import into")
            base = await self._store.files(live[0]) or {}
            try:
                text, rows = await asyncio.to_thread(imported_catalog, data, filename, base)
            except CatalogReadError as exc:
                raise Invalid(str(exc)) from None
        await self._audit.record(staff, "studio_import", None, {
            "filename": filename, "bytes": len(data), "accepted": len(rows.items), "rejected": len(rows.rejected)})
        draft = None if text is None else await self.draft(staff, live[0], {IMPORTED: text}, message)
        return CatalogImport(draft, rows)

    async def report(self, staff: Staff, version: str) -> dict[str, Any]:
        """The 对比报告 of `version` against the live version (built in a worker thread, kept per pair)."""
        async with audit_refusals(self._audit, staff, "studio_report", None, version=version):
            _require(staff, STUDIO_ROLES)
            files = await self._store.files(version)
            if files is None:
                raise NotFound(f"no content version {version}")
        live, live_content = self._live.current()
        if (report := self._reports.get((version, live))) is None:
            draft = self._live.loaded(version) or await self._draft_content(version, files)
            report = {"version": version, "against": live,
                      **await asyncio.to_thread(compare, draft, files, live_content, self._labelled)}
            self._reports[(version, live)] = report
            while len(self._reports) > REPORTS_KEPT:
                self._reports.popitem(last=False)
        self._reports.move_to_end((version, live))
        await self._audit.record(staff, "studio_report", None, {"version": version})
        return report

    async def _draft_content(self, version: str, files: Files) -> Content:
        if (content := self._drafts.get(version)) is None:
            content = self._drafts[version] = await self._live.build_files(files)
            while len(self._drafts) > DRAFTS_KEPT:
                self._drafts.popitem(last=False)
        self._drafts.move_to_end(version)
        return content

    async def publish(self, staff: Staff, version: str) -> GateReport:
        async with audit_refusals(self._audit, staff, "studio_publish", None, version=version):
            _require(staff, PUBLISHERS)
            meta = await self._store.get(version)
            if meta is None:
                raise NotFound(f"no content version {version}")
            if self._two_person_rule and meta.author.split(" ")[0] == author_of(staff).split(" ")[0]:
                raise Forbidden("two-person rule: a publisher cannot publish a draft they authored")
        report = await self._releases.publish(version, author_of(staff))
        await self._audit.record(staff, "studio_publish", None, {"version": version})
        await self._live.refresh()
        return report

    async def rollback(self, staff: Staff) -> str:
        async with audit_refusals(self._audit, staff, "studio_rollback", None):
            _require(staff, PUBLISHERS)
        version = await self._releases.rollback(author_of(staff))
        await self._audit.record(staff, "studio_rollback", None, {"version": version})
        await self._live.refresh()
        return version


def _require(staff: Staff, roles: frozenset[Role]) -> None:
    if staff.role not in roles:
        raise Forbidden("the studio needs the role " + " or ".join(sorted(r.value for r in roles)))


def _matched(version: str, content: Content, text: str) -> dict[str, object]:
    return {"version": version, **content.matcher.match(text).to_json()}
