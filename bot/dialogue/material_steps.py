"""The step that asks for a material: an upload, or one of the alternatives the item allows (电子证照, 容缺,
告知承诺, 跳过), each one class in ALTERNATIVES."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Protocol

from bot.catalog import Material
from bot.dialogue.commands import Command, Invocation, option
from bot.dialogue.prompts import Prompts
from bot.dialogue.replies import ChoicesReply, MaterialStepReply, Option, Progress, Reply, TextReply
from bot.dialogue.state import Conversation, MaterialEntry, Stage
from bot.dialogue.steps import Accepted, Answer, Detour, Rejected, StepResult
from bot.uploads import Upload, sniff

if TYPE_CHECKING:
    from bot.dialogue.context import TurnContext
    from bot.dialogue.script import StepRef, StepSources


class Alternative(Protocol):
    """Another way to provide a material than uploading it."""

    command: Command

    def allowed(self, material: Material, licences: set[str]) -> bool: ...
    def offer(self, material: Material, p: Prompts) -> Option: ...
    async def provide(self, ctx: "TurnContext", material: Material, answer: Invocation) -> StepResult: ...


class ELicence:
    """电子证照: the office fetches the citizen's electronic licence instead."""

    command = Command.licence

    def allowed(self, material: Material, licences: set[str]) -> bool:
        return bool(material.licence_type) and material.licence_type in licences

    def offer(self, material: Material, p: Prompts) -> Option:
        return option(p.material_licence.format(licence=material.licence_type), self.command)

    async def provide(self, ctx: "TurnContext", material: Material, answer: Invocation) -> StepResult:
        ctx.state.materials[material.key] = MaterialEntry(kind="licence", licence=material.licence_type)
        return Accepted((TextReply(text=ctx.prompts.material_licence_used.format(licence=material.licence_type)),))


class Deferral:
    """容缺受理: accepted now, the material is handed in within the deferral period."""

    command = Command.defer

    def allowed(self, material: Material, licences: set[str]) -> bool:
        return material.deferrable

    def offer(self, material: Material, p: Prompts) -> Option:
        return option(p.material_defer, self.command)

    async def provide(self, ctx: "TurnContext", material: Material, answer: Invocation) -> StepResult:
        ctx.state.materials[material.key] = MaterialEntry(kind="deferred")
        days = ctx.ports.settings.deferral_days
        return Accepted((TextReply(text=ctx.prompts.material_deferred.format(name=material.name, days=days)),))


class Pledge:
    """告知承诺: the citizen reads the pledge (stage `pledge`) and accepts it instead of proving the condition."""

    command = Command.pledge

    def allowed(self, material: Material, licences: set[str]) -> bool:
        return bool(material.pledge)

    def offer(self, material: Material, p: Prompts) -> Option:
        return option(p.material_pledge, self.command)

    async def provide(self, ctx: "TurnContext", material: Material, answer: Invocation) -> StepResult:
        if answer.command is Command.pledge:
            return Detour(Stage.pledge)
        if ctx.state.stage is not Stage.pledge:
            return None
        ctx.state.materials[material.key] = MaterialEntry(kind="pledge", pledge=material.pledge)
        return Accepted((TextReply(text=ctx.prompts.pledge_recorded),))

    @staticmethod
    def question(material: Material, p: Prompts) -> ChoicesReply:
        return ChoicesReply(text=p.pledge_text.format(text=material.pledge),
                            options=[option(p.pledge_accept, Command.accept_pledge),
                                     option(p.back_label, Command.back)])


class Skip:
    """A material that is not required may be left out."""

    command = Command.skip

    def allowed(self, material: Material, licences: set[str]) -> bool:
        return not material.required

    def offer(self, material: Material, p: Prompts) -> Option:
        return option(p.material_skip, self.command)

    async def provide(self, ctx: "TurnContext", material: Material, answer: Invocation) -> StepResult:
        ctx.state.materials[material.key] = MaterialEntry(kind="skipped")
        return Accepted()


ALTERNATIVES: tuple[Alternative, ...] = (ELicence(), Deferral(), Pledge(), Skip())  # in the order they are offered
_BY_COMMAND: dict[Command, Alternative] = {a.command: a for a in ALTERNATIVES}
_BY_COMMAND[Command.accept_pledge] = _BY_COMMAND[Command.pledge]


@dataclass(frozen=True)
class MaterialStep:
    """Upload the material (checked for size and type), or take one of the alternatives it allows."""

    material: Material
    is_material: ClassVar[bool] = True

    @classmethod
    def build(cls, ref: "StepRef", sources: "StepSources") -> "MaterialStep":
        return cls(sources.material(ref))

    @property
    def key(self) -> str:
        return self.material.key

    @property
    def label(self) -> str:
        return self.material.name

    @property
    def optional(self) -> bool:
        return False  # a material not required is still asked: the citizen skips it explicitly

    async def ask(self, ctx: "TurnContext", progress: Progress) -> Reply:
        material, p, settings = self.material, ctx.prompts, ctx.ports.settings
        licences = await ctx.licences()
        options = [a.offer(material, p) for a in ALTERNATIVES if a.allowed(material, licences)]
        copies = f"（{material.copies}份）" if material.copies > 1 else ""
        text = p.material_prompt.format(name=material.name, copies=copies)
        if not material.required:
            text += p.material_optional
        if material.key in ctx.state.fix:
            text += p.correction_reason.format(reason=ctx.state.fix[material.key])
        return MaterialStepReply(key=material.key, name=material.name, text=text, required=material.required,
                                 accept=list(settings.allowed_types), max_bytes=settings.max_upload_bytes,
                                 upload_label=p.material_upload, options=options, progress=progress)

    async def accept(self, ctx: "TurnContext", answer: Answer) -> StepResult:
        if isinstance(answer, Upload):
            return await self._upload(ctx, answer)
        if isinstance(answer, str):
            meant = ctx.content.meaning(answer)
            chosen = next((a for a in ALTERNATIVES if a.command in meant), None)
            if chosen is None:
                return Rejected((TextReply(text=ctx.prompts.upload_expected.format(name=self.material.name)),))
            answer = Invocation(chosen.command)
        alternative = _BY_COMMAND.get(answer.command)
        if alternative is None or not alternative.allowed(self.material, await ctx.licences()):
            return None
        return await alternative.provide(ctx, self.material, answer)

    async def _upload(self, ctx: "TurnContext", upload: Upload) -> StepResult:
        p, settings = ctx.prompts, ctx.ports.settings
        if upload.truncated or len(upload.data) > settings.max_upload_bytes:
            return Rejected((TextReply(text=p.upload_too_large.format(max_mb=settings.max_upload_bytes // 2**20)),))
        if not upload.data:
            return Rejected((TextReply(text=p.upload_empty),))
        mime = sniff(upload.data)
        if mime is None or mime not in settings.allowed_types:
            return Rejected((TextReply(text=p.upload_bad_type),))
        blob = await ctx.ports.blobs.put(upload.data, mime, ctx.user)
        ctx.state.materials[self.material.key] = MaterialEntry(kind="upload", blob_id=blob.blob_id, mime=mime,
                                                               size=blob.size, filename=upload.filename[:100])
        return Accepted((TextReply(text=p.material_received.format(name=self.material.name)),))

    def done(self, state: Conversation) -> bool:
        return self.material.key in state.materials
