"""Quality of the content under an intents/ folder: checks before publishing (checks.py), golden conversations
(golden.py) and the matching report (report.py), for `python -m bot check|test|report` and the studio."""
