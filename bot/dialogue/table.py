"""The conversation as a table, in the spirit of python-telegram-bot's ConversationHandler.

- `commands`: what every command does when its option is tapped ("/verb arg"), in any stage; the handler decides
  what fits the stage.
- `fallbacks` and `entry_points`: words a citizen may type instead (intents/dictionaries/questions.yaml), or
  everyday sentences that mean them (phrases.yaml: "算了不办了", "我的身份证办到哪一步了"), that count in every
  stage (取消, 上一步, 查进度 …) or when nothing is under way (评价, 缴费 …). Small talk (你好, 在吗, 谢谢, 再见)
  is answered in every stage, and a question asked before it is asked again.
- `states`: for each stage, the words that count there, what any other text does, and what the stage waits for
  (repeated after a question or a refusal, so the citizen always knows the next move). A stage that takes free
  text (a rating comment) reads only the exact words, never sentences or small talk.

Every handler returns an Outcome: the replies and the next stage. The diagram is in the README.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from bot.dialogue.application import ApplicationFlow
from bot.dialogue.basics import BasicFlow
from bot.dialogue.commands import PREFIX, Command, Invocation, parse
from bot.dialogue.context import Outcome, TurnContext, reprompt, stay
from bot.dialogue.correction import CorrectionFlow
from bot.dialogue.finding import FindingFlow
from bot.dialogue.handoff import HandoffFlow
from bot.dialogue.paying import PaymentFlow
from bot.dialogue.progress import ProgressFlow
from bot.dialogue.rating import RatingFlow
from bot.dialogue.replies import Reply, TextReply
from bot.dialogue.state import Stage
from bot.dialogue.submission import SubmissionFlow
from bot.dialogue.withdrawal import WithdrawalFlow
from bot.uploads import Upload

Handler = Callable[[TurnContext, Invocation], Awaitable[Outcome]]
TextHandler = Callable[[TurnContext, str], Awaitable[Outcome]]
Waiting = Callable[[TurnContext], Awaitable[list[Reply]]]

ALL = frozenset(Stage)
BOT = ALL - {Stage.handoff}  # while a person has the chat, only the words of the handoff stage count
NOTHING_UNDER_WAY = frozenset({Stage.idle, Stage.offered, Stage.clarify})


@dataclass(frozen=True)
class State:
    """One stage: typed words that count here (word meaning -> command run), other text, what it waits for."""

    text: TextHandler
    waiting: Waiting
    words: Mapping[Command, Invocation] = field(default_factory=dict)
    free_text: bool = False  # any text is an answer here: only exact command words count
    commands: frozenset[Command] | None = None  # the only commands a tap may send here (None: every one)


@dataclass(frozen=True)
class ConversationTable:
    commands: Mapping[Command, Handler]
    fallbacks: tuple[tuple[Command, frozenset[Stage]], ...]
    entry_points: tuple[tuple[Command, frozenset[Stage]], ...]
    states: Mapping[Stage, State]
    upload: Callable[[TurnContext, Upload], Awaitable[Outcome]]
    advance: Callable[[TurnContext], Awaitable[Outcome]]  # to the first open step of the application
    handoff: HandoffFlow

    async def hand_back(self, ctx: TurnContext, handoff_id: int) -> list[Reply]:
        """Staff closed the handoff: back to the stage the citizen was in (nothing if they left it already)."""
        return await self.handoff.taken_back(ctx, handoff_id)

    async def turn(self, ctx: TurnContext, text: str | None, upload: Upload | None) -> list[Reply]:
        """Handle one message: route it, move to the stage the handler chose, then say what that stage waits for."""
        return await self._settle(ctx, await self._route(ctx, text, upload))

    async def resume(self, ctx: TurnContext) -> list[Reply]:
        """Continue the application of the state at its first open step."""
        return await self._settle(ctx, await self.advance(ctx))

    async def _settle(self, ctx: TurnContext, outcome: Outcome) -> list[Reply]:
        ctx.state.stage = outcome.stage
        if outcome.reprompt:
            return [*outcome.replies, *await self.states[outcome.stage].waiting(ctx)]
        return outcome.replies

    async def _route(self, ctx: TurnContext, text: str | None, upload: Upload | None) -> Outcome:
        asked, ctx.state.cancel_asked = ctx.state.cancel_asked, False  # "确定不办了吗？" gets one answer
        if upload is not None:
            return reprompt(ctx) if ctx.state.stage is Stage.handoff else await self.upload(ctx, upload)
        text = (text or "").strip()
        if not text:
            return stay(ctx, TextReply(text=ctx.prompts.help))
        if text.startswith(PREFIX):
            invocation = parse(text)
            if invocation is None:
                return stay(ctx, TextReply(text=ctx.prompts.help))
            allowed = self.states[ctx.state.stage].commands
            if allowed is not None and invocation.command not in allowed:
                return reprompt(ctx)
            return await self.commands[invocation.command](ctx, invocation)
        if asked and (confirmed := self._confirmed(ctx, text)) is not None:
            return await self.commands[Command.cancel](ctx, Invocation(Command.cancel, confirmed))
        invocation = self._meant(ctx, text)
        if invocation is not None:
            return await self.commands[invocation.command](ctx, invocation)
        return await self.states[ctx.state.stage].text(ctx, text)

    def _meant(self, ctx: TurnContext, text: str) -> Invocation | None:
        """What typed text stands for here: a command word; else (unless the stage takes free text) small talk, or
        an everyday sentence meaning a command; None: the stage's own text handler reads it."""
        content, stage = ctx.content, ctx.state.stage
        invocation = self._typed(content.words.meaning(text), stage)
        if invocation is not None or self.states[stage].free_text:
            return invocation
        if (talk := content.phrases.small_talk_of(text)) is not None:
            return Invocation(Command.small_talk, talk)
        invocation = self._typed(content.phrases.meaning(text), stage)
        if invocation is not None and invocation.command is Command.progress:
            return Invocation(Command.progress, text)  # "我的身份证办到哪一步了" names the item
        return invocation

    @staticmethod
    def _confirmed(ctx: TurnContext, text: str) -> bool | None:
        """The answer to "确定不办了吗？": yes (or a cancel again), no, or None for anything else."""
        if Command.cancel in ctx.content.meaning(text):
            return True
        return ctx.content.phrases.answer(text)

    def _typed(self, meant: frozenset[Command], stage: Stage) -> Invocation | None:
        """The command a typed message is a word for in this stage, if any."""
        if not meant:
            return None
        for command, stages in (*self.fallbacks, *self.entry_points):
            if command in meant and stage in stages:
                return Invocation(command)
        return next((invocation for command, invocation in self.states[stage].words.items() if command in meant),
                    None)


def build_table() -> ConversationTable:
    """The table, built once per engine from the flows (which hold no state of their own)."""
    application, finding, rating = ApplicationFlow(), FindingFlow(), RatingFlow()
    payment, withdrawal, correction = PaymentFlow(), WithdrawalFlow(), CorrectionFlow(application)
    submission, basic = SubmissionFlow(application, correction), BasicFlow(correction, payment)
    progress = ProgressFlow()
    states: dict[Stage, State] = {}

    async def waiting(ctx: TurnContext, stage: Stage) -> list[Reply]:
        return await states[stage].waiting(ctx)

    handoff = HandoffFlow(waiting)

    async def reprompt_only(ctx: TurnContext, text: str) -> Outcome:
        return reprompt(ctx)

    async def nothing(ctx: TurnContext) -> list[Reply]:
        return []

    commands: dict[Command, Handler] = {
        Command.hello: basic.hello, Command.help: basic.help, Command.human: handoff.human,
        Command.cancel: basic.cancel, Command.rectified: basic.rectified,
        Command.pick: finding.pick, Command.ask: finding.ask,
        Command.apply: application.apply, Command.reuse: application.reuse, Command.fresh: application.reuse,
        Command.back: application.back, Command.edit: application.edit,
        Command.licence: application.material_option, Command.defer: application.material_option,
        Command.pledge: application.material_option, Command.accept_pledge: application.material_option,
        Command.skip: application.material_option,
        Command.submit: submission.submit, Command.correct: correction.correct,
        Command.rate: rating.start, Command.rate_level: rating.level, Command.rate_tag: rating.tag,
        Command.rate_tags_done: rating.tags_done, Command.rate_skip: rating.skip,
        Command.pay: payment.pay, Command.withdraw: withdrawal.ask, Command.withdraw_confirm: withdrawal.confirm,
        Command.progress: progress.show, Command.small_talk: basic.small_talk,
        Command.leave_human: handoff.leave, Command.rate_human: handoff.rate,
    }
    answer = application.answer
    states.update({
            Stage.idle: State(finding.find, nothing),
            Stage.clarify: State(finding.find, finding.waiting_clarify),
            Stage.offered: State(finding.find, finding.waiting_offered,
                                 {Command.apply: Invocation(Command.apply)}),
            Stage.reuse: State(answer, application.waiting_reuse,
                               {Command.reuse: Invocation(Command.reuse, True),
                                Command.fresh: Invocation(Command.reuse, False)}),
            Stage.collect: State(answer, application.waiting_collect),
            Stage.pledge: State(answer, application.waiting_pledge,
                                {Command.accept_pledge: Invocation(Command.accept_pledge)}),
            Stage.edit: State(answer, application.waiting_edit),
            Stage.confirm: State(answer, application.waiting_confirm, {Command.submit: Invocation(Command.submit)}),
            Stage.rate_level: State(reprompt_only, rating.question),
            Stage.rate_tags: State(reprompt_only, rating.question),
            Stage.rate_text: State(rating.text, rating.question, {Command.skip: Invocation(Command.rate_skip)},
                                   free_text=True),
            Stage.handoff: State(handoff.text, handoff.waiting, {Command.cancel: Invocation(Command.leave_human),
                                                                 Command.leave_human: Invocation(Command.leave_human)},
                                 free_text=True, commands=frozenset({Command.leave_human, Command.rate_human})),
    })
    return ConversationTable(
        commands=commands,
        fallbacks=((Command.cancel, BOT), (Command.back, BOT), (Command.edit, BOT - {Stage.idle}),
                   (Command.human, BOT), (Command.help, BOT), (Command.progress, BOT)),
        entry_points=((Command.correct, NOTHING_UNDER_WAY), (Command.rate, NOTHING_UNDER_WAY),
                      (Command.pay, NOTHING_UNDER_WAY), (Command.withdraw, NOTHING_UNDER_WAY),
                      (Command.rectified, NOTHING_UNDER_WAY)),
        states=states, upload=application.upload, advance=application.advance, handoff=handoff)
