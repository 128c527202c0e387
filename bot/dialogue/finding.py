"""Finding the item a citizen means: match their words, offer one item, or ask which of several."""
from __future__ import annotations

import asyncio

from bot.dialogue.answers import answer, item_actions, item_card
from bot.dialogue.commands import Command, Invocation, option
from bot.dialogue.context import Outcome, TurnContext, reprompt, stay
from bot.dialogue.replies import ChoicesReply, Reply, TextReply
from bot.dialogue.state import Stage
from bot.dialogue.topics import Topic
from bot.inbox.dialogue import asked_back, left_clarify, record_miss, resolved
from bot.matching import Decision, MatchResult


MISSES_BEFORE_OFFER = 2


class FindingFlow:
    async def find(self, ctx: TurnContext, text: str) -> Outcome:
        """Free text when no application is under way."""
        c, s, p = ctx.content, ctx.state, ctx.prompts
        topic = c.words.topic(text)
        # "条件是什么" about the item on screen must not be matched to an item named "...条件..."
        query = c.words.without_topic_words(text) if topic and s.target else text
        result = await self._match(ctx, query)
        if not (result.decision is Decision.match and result.candidates[0].key in s.candidates):
            left_clarify(ctx)  # naming one of the items asked about in words answers the question
        lost = result.decision is Decision.none and not result.out_of_scope  # out of scope: understood
        s.misses = s.misses + 1 if lost else 0
        if result.decision is Decision.match:
            offered = self.offer(ctx, result.candidates[0].key)
            return Outcome([answer(topic, ctx.target(), p)], offered.stage, True) if topic else offered
        if topic and s.target:
            return stay(ctx, answer(topic, ctx.target(), p))
        if result.decision is Decision.clarify:
            s.candidates = [candidate.key for candidate in result.candidates]
            asked_back(ctx, query)
            options = [option(candidate.label, Command.pick, candidate.key) for candidate in result.candidates]
            options.append(option(p.none_of_these, Command.human))
            return Outcome([ChoicesReply(text=p.clarify, options=options)], Stage.clarify)
        if result.out_of_scope:  # understood, and not a government service: nothing for the inbox
            return stay(ctx, TextReply(text=p.out_of_scope))
        record_miss(ctx, query)
        missed = p.handoff_offer if s.misses >= MISSES_BEFORE_OFFER else p.no_match  # two in a row: offer a person
        return stay(ctx, ChoicesReply(text=missed.format(text=text[:20]), options=[option(p.ask_human, Command.human)]))

    @staticmethod
    async def _match(ctx: TurnContext, query: str) -> MatchResult:
        matcher = ctx.content.matcher
        vector = None
        if matcher.executor is not None and matcher.needs_vector(query):   # the model only when it can matter
            vector = await asyncio.get_running_loop().run_in_executor(matcher.executor, matcher.embed, query)
        result = matcher.match(query, vector)
        ctx.ports.observer.matched(result.decision.value)
        return result

    def offer(self, ctx: TurnContext, key: str) -> Outcome:
        ctx.state.target, ctx.state.candidates = key, []
        resolved(ctx)
        card_key = f"{key}:elder" if ctx.elder else key
        card = ctx.content.card(card_key, lambda: item_card(ctx.target(), ctx.prompts, ctx.elder))
        return Outcome([card], Stage.offered)

    async def pick(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/pick key`: one of the items offered to choose from."""
        if isinstance(invocation.arg, str) and invocation.arg in ctx.state.candidates:
            return self.offer(ctx, invocation.arg)
        return stay(ctx, TextReply(text=ctx.prompts.help))

    async def ask(self, ctx: TurnContext, invocation: Invocation) -> Outcome:
        """`/ask topic`: a question about the item on screen."""
        if isinstance(invocation.arg, Topic) and ctx.state.target:
            return reprompt(ctx, answer(invocation.arg, ctx.target(), ctx.prompts))
        return stay(ctx, TextReply(text=ctx.prompts.help))

    async def waiting_clarify(self, ctx: TurnContext) -> list[Reply]:
        """The items to choose from, again (after help, a question, or when the chat is opened again)."""
        p, catalog = ctx.prompts, ctx.content.catalog
        targets = [t for t in map(catalog.target, ctx.state.candidates) if t is not None]
        options = [option(t.name, Command.pick, t.key) for t in targets] + [option(p.none_of_these, Command.human)]
        return [ChoicesReply(text=p.clarify_again, options=options)]

    async def waiting_offered(self, ctx: TurnContext) -> list[Reply]:
        """After an answer about the item on screen: what can be done now, as buttons again."""
        return [ChoicesReply(text=ctx.prompts.ask_next, options=item_actions())]
