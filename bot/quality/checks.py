"""Every check run before content is published (`python -m bot check`, and the studio's publish): what the loader
and the lint already report, and the checks of the intent studio (issue 15). Errors block, warnings are shown.

| code | severity | what it means |
|---|---|---|
| invalid | error | a file does not load (YAML syntax, a wrong or missing key): nothing else is checked |
| script | error | a script names an unknown item, field or material, or a second script for one target |
| consistency | error | a catalog fact contradicts the dialogue (bot/catalog/consistency.py) |
| punctuation | error | ASCII quotes/question marks/commas in Chinese text, doubled marks ("。。", "，。") |
| unknown-button | error | a text says 点「…」 but no prompt defines that button |
| unknown-command-word | error | a text says 回复「…」 but no command understands the word |
| command-unread | error | words listed for a command the engine never reads when typed |
| duplicate-phrase | error | the same alias, short name or synonym under two items (two items of one name: warning) |
| duplicate-synonym | error | a variant under two canonical words of synonyms.yaml |
| phrase-misrouted | error | an alias (short name, synonym) the matcher sends elsewhere, or nowhere (a name: warning) |
| phrase-ambiguous | warning | an alias the matcher asks back about, its own item among the choices |
| unreachable-step | error | a step listed twice in one script: the second is never asked |
| prompt-placeholder | error | a prompt uses a {placeholder} the engine does not fill: it would fail or show braces |
| prompt-unused | warning | a prompt no code ever shows |
"""
from __future__ import annotations

import logging
import string
from pathlib import Path

from bot.content import Content, content_phrases, load_content
from bot.content_errors import ContentInvalid
from bot.content_lint import CITIZEN_TEXT, punctuation_errors, reference_errors
from bot.catalog.consistency import consistency_errors
from bot.matching.lexicon import Lexicon
from bot.matching.lexicon_check import rewrites_inside_words
from bot.quality.engine_use import prompt_use, typed_commands
from bot.quality.findings import Finding
from bot.quality.phrases import duplicate_findings, lexicon_findings, routing_findings, target_phrases
from bot.quality.places import Places

_PROMPTS = "scripts/prompts.yaml"
FIELD_ANSWERS = frozenset({"prompt", "hint"})  # a field's question: what the citizen types there is an answer


def check_directory(directory: Path) -> list[Finding]:
    """Every finding on the content under `directory` (an intents/ folder)."""
    return load_and_check(directory)[1]


def load_and_check(directory: Path) -> tuple[Content | None, list[Finding]]:
    """The content under `directory` and its findings; no content when it does not load (the findings say why)."""
    try:
        content = load_content(directory, logging.getLogger("zhengwu.quality"))
    except ContentInvalid as exc:
        return None, [Finding.of(error, "invalid") for error in exc.errors]
    return content, check_content(directory, content)


def check_content(directory: Path, content: Content) -> list[Finding]:
    """The checks on content loaded from `directory`."""
    places = Places(directory)
    phrases = target_phrases(content, places)
    return [*(Finding.of(error, "script") for error in content.scripts.errors),
            *(Finding.of(error, "consistency") for error in consistency_errors(directory)),
            *text_findings(directory, content),
            *command_findings(content, places),
            *duplicate_findings(phrases, Lexicon.load(directory / "dictionaries" / "synonyms.yaml")),
            *lexicon_findings(directory),
            *(Finding.of(error, "lexicon-inside-word") for error in rewrites_inside_words(
                content.matcher.lexicon, directory / "dictionaries" / "synonyms.yaml", content_phrases(content))),
            *routing_findings(phrases, content),
            *step_findings(content, places),
            *prompt_findings(content, places)]


def text_findings(directory: Path, content: Content) -> list[Finding]:
    """Punctuation of every citizen-facing text; buttons and words to type that texts name but nothing has."""
    findings = []
    for pattern in CITIZEN_TEXT:
        for path in sorted(directory.glob(pattern)):
            name = str(path.relative_to(directory))
            findings += [Finding.of(error, "punctuation") for error in punctuation_errors(path, name)]
            for error in reference_errors(path, name, content.prompts, content.words, FIELD_ANSWERS):
                findings.append(Finding.of(error, "unknown-button" if "button" in error.reason
                                           else "unknown-command-word"))
    return findings


def command_findings(content: Content, places: Places) -> list[Finding]:
    """Words for a command that the engine never acts on when typed (it only comes from a tapped option)."""
    read = typed_commands()
    findings = []
    for file, commands in (("dictionaries/questions.yaml", content.words.commands),
                           ("dictionaries/phrases.yaml", content.phrases.commands)):
        for command in commands:
            if command not in read:
                findings.append(Finding("error", places.at(file, ("commands", command.value)), "command-unread",
                                        f"commands: {command.value}: the engine never reads this command when "
                                        "typed, so these words do nothing"))
    return findings


def step_findings(content: Content, places: Places) -> list[Finding]:
    """A field or material listed twice in one script: the first one is asked, the second never."""
    findings = []
    for key, script in content.scripts.scripts.items():
        seen: set[tuple[str, str]] = set()
        for index, ref in enumerate(script.steps):
            step = ("material", ref.material) if ref.material else ("field", ref.field or "")
            if step in seen:
                findings.append(Finding("error", places.script(key, "steps", index), "unreachable-step",
                                        f"steps: {step[0]} {step[1]} is already asked earlier in this script: "
                                        "this entry is never reached"))
            seen.add(step)
    return findings


def placeholders(text: str) -> set[str]:
    """The {names} a prompt uses."""
    try:
        return {name.split(".")[0].split("[")[0] for _, name, _, _ in string.Formatter().parse(text) if name}
    except ValueError:  # an unmatched brace: format() would fail, as for an unknown name
        return {"{"}


def prompt_findings(content: Content, places: Places) -> list[Finding]:
    """Prompts no code shows (warning), and placeholders in a prompt that the code does not fill (error)."""
    findings = []
    for key, text in content.prompts.model_dump().items():
        use, where = prompt_use(key), places.at(_PROMPTS, (key,))
        if use is None:
            findings.append(Finding("warning", where, "prompt-unused", f"{key}: no part of the bot ever shows this "
                                                                       "prompt"))
            continue
        if not isinstance(text, str) or use.opaque:
            continue
        unknown = placeholders(text) - use.formatted
        if unknown and use.formatted:
            findings.append(Finding("error", where, "prompt-placeholder",
                                    f"{key}: {{{'}、{'.join(sorted(unknown))}}} is not filled in by the bot (it fills "
                                    f"{{{'}、{'.join(sorted(use.formatted))}}})"))
        elif unknown:
            findings.append(Finding("error", where, "prompt-placeholder",
                                    f"{key}: the bot shows this prompt as it is: {{{'}、{'.join(sorted(unknown))}}} "
                                    "would appear to citizens"))
    return findings
