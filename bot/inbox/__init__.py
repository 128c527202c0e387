"""The unmatched inbox: what citizens said that the bot could not place, masked, grouped and kept for the
product team to learn from (README: "The unmatched inbox")."""
