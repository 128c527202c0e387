"""转人工 / 人工帮办: a chat handed to a staff member of the right department, and back to the bot."""
