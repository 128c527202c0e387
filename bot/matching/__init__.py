"""Intent matching: from a citizen's own words to service items."""
from bot.matching.matcher import Candidate, Decision, Entry, Matcher, MatchResult

__all__ = ["Candidate", "Decision", "Entry", "MatchResult", "Matcher"]
