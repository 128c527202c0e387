"""Client message ids: a message sent again with the id of one already answered (a retry after a timeout, a
duplicate sent at the same time, a retry after the instance that took it died) gets the first answer and changes
nothing. The answers live in the conversation state, so they are saved with the state they produced, in the same
write, under the user's lock: a message either happened with its answer remembered, or did not happen at all."""
from __future__ import annotations

import hashlib

from bot.dialogue.replies import ChatResponse, Reply, response_json
from bot.dialogue.state import AnsweredMessage, Conversation
from bot.uploads import Upload

KEPT = 4  # answers remembered per user: clients retry their latest message, not one from four messages ago


class ClientIdReused(Exception):
    """A client message id already answered was sent with another message."""


def message_digest(text: str | None, upload: Upload | None) -> str:
    """What the message said (text or file bytes), to tell a retry from a reused id."""
    data = b"f:" + upload.data if upload is not None else b"t:" + (text or "").encode()
    return hashlib.sha256(data).hexdigest()[:32]


def earlier_answer(state: Conversation, client_id: str, digest: str) -> list[Reply] | None:
    """The replies once given to this id, or None when it is new; ClientIdReused for another message."""
    for answered in state.answered:
        if answered.client_id == client_id:
            if answered.digest != digest:
                raise ClientIdReused(client_id)
            return ChatResponse.model_validate_json(answered.replies).replies
    return None


def remember_answer(state: Conversation, client_id: str, digest: str, replies: list[Reply]) -> None:
    """Keep this answer (and the last few before it) in the state about to be saved."""
    entry = AnsweredMessage(client_id=client_id, digest=digest, replies=response_json(replies).decode())
    state.answered = [*state.answered[-(KEPT - 1):], entry]
