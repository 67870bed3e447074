"""The permissions citebot uses, why, and checks of its own permissions before it posts.

The invite link is computed from USED, so it asks for exactly what the code relies on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord

if TYPE_CHECKING:
    from bot.guilds import GuildConfig

# Every permission citebot uses in a channel, with what it is for (shown in the README and by
# `citebot invite`). Interaction replies (slash commands, buttons) need none of these.
USED: dict[str, str] = {
    "view_channel": "see the channels where people mention it",
    "send_messages": "answer in answer channels, and post the welcome message",
    "send_messages_in_threads": "answer in the thread it opens for each @mention, and its follow-ups",
    "create_public_threads": "open one thread per @mention question",
    "embed_links": "show answers as embeds (without it, answers come as plain text)",
    "read_message_history": "reply to the message that asked",
    "manage_threads": "mark people's forum posts solved: apply the Solved tag and close the post",
}
LABELS = {
    "view_channel": "View Channel",
    "send_messages": "Send Messages",
    "send_messages_in_threads": "Send Messages in Threads",
    "create_public_threads": "Create Public Threads",
    "embed_links": "Embed Links",
    "read_message_history": "Read Message History",
    "manage_threads": "Manage Threads",
}
SCOPES = ("bot", "applications.commands")


def invite_permissions() -> discord.Permissions:
    """Return the permissions the invite link asks for: exactly those in USED."""
    return discord.Permissions(**dict.fromkeys(USED, True))


def invite_url(application_id: int) -> str:
    """Return the OAuth2 link that adds citebot to a server with its permissions and commands."""
    return discord.utils.oauth_url(application_id, permissions=invite_permissions(), scopes=SCOPES)


def needed_to_post(*, in_thread: bool, reply: bool, open_thread: bool = False) -> list[str]:
    """Return the permissions needed to post an answer: in a thread, as a reply, or in a new thread."""
    needed = ["view_channel"]
    if open_thread:
        needed += ["create_public_threads", "send_messages_in_threads"]
    elif in_thread:
        needed.append("send_messages_in_threads")
    else:
        needed.append("send_messages")
    if reply:
        needed.append("read_message_history")
    return needed


def missing(perms: discord.Permissions, needed: list[str]) -> list[str]:
    """Return the readable names of the needed permissions that perms lacks."""
    return [LABELS[name] for name in needed if not getattr(perms, name)]


def missing_text(names: list[str], where: str) -> str:
    """Tell a person which permissions citebot lacks where, and what they can do meanwhile."""
    listed = ", ".join(f"**{n}**" for n in names)
    return (
        f"I can't answer in {where}: I'm missing {listed} there. "
        "A server admin can grant it (channel settings → Permissions → citebot); "
        "meanwhile, use `/ask` (it works everywhere, and `private: True` shows the answer only to you)."
    )


def is_helper(member: discord.Member | discord.User, config: GuildConfig) -> bool:
    """Tell whether someone has this server's helper role (set with /citebot settings helper-role)."""
    if not isinstance(member, discord.Member) or config.helper_role_id is None:
        return False
    return any(role.id == config.helper_role_id for role in member.roles)
