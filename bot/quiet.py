"""When citebot stays quiet: the rules for messages nobody addressed to it.

They apply where citebot answers without being asked by name (answer channels, forum posts in
answer forums, its own threads). Each rule is a server setting (GuildConfig); these functions are
pure, so every rule is tested on its own. A mention of citebot overrides all but "solved".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.guilds import GuildConfig

# Why citebot stayed quiet (logged, and shown in tests); None means "answer".
SOLVED = "the thread is marked solved"
HANDED_OFF = "a helper was called to this thread"
NOT_ASKER = "only the post's author gets follow-up answers"
ANSWER_LIMIT = "the thread reached its answer limit"
CHATTER = "greeting, thanks or short reply"
BETWEEN_PEOPLE = "a reply to another person"
NOT_A_QUESTION = "does not read as a question or request"
STAFF_REPLIED = "a helper or moderator replied in this thread"

SHORT_REPLY_WORDS = 3
_URL = re.compile(r"https?://\S+")
# Question marks of other scripts too (Spanish, Greek, Arabic, full width).
_QUESTION_MARK = re.compile("[?¿\u037e؟？]")
_SENTENCES = re.compile(r"[.!?¿؟？\n;:]+")
_GREETING = r"(?:(?:hi|hello|hey|hiya|yo|greetings|good (?:morning|afternoon|evening))(?:\s+(?:all|everyone|there|folks|guys|team|y'?all))?[\s,!.-]*)?"
_QUESTION_START = re.compile(
    rf"^{_GREETING}(?:(?:so|now|ok|okay|well|also|and|but|then|anyway)[\s,]+)?(?:who|whom|whose|what|what's|whats|which|when|where|where's|why|how|how's|"
    r"is|isn't|are|aren't|am|was|wasn't|were|do|don't|does|doesn't|did|didn't|can|can't|could|couldn't|"
    r"should|shouldn't|would|wouldn't|will|won't|shall|has|hasn't|have|haven't|had|may|might|"
    r"tell|explain|describe|list|show|give|compare|summari[sz]e|define|recommend|suggest|please|help)\b",
    re.I,
)
# Request forms anywhere in a message: "I need…", "anyone know…", "is there a way…".
_REQUEST = re.compile(
    r"\b(?:i need|i'?m looking for|looking for|i (?:want|would like|'d like) to (?:know|find|understand)|"
    r"i(?:'?m)? wonder(?:ing)?|wondering (?:if|whether|how|what|why|where|when)|any ?(?:one|body) know|"
    r"does any ?(?:one|body)|(?:can|could) (?:some|any) ?(?:one|body)|is there (?:a|an|any)\b|"
    r"any idea|(?:not sure|no idea) (?:how|what|why|where|when|if|whether)|"
    r"(?:can'?t|cannot|couldn'?t) (?:figure out|find|work out|understand)|help me|need help|please help)",
    re.I,
)
# In a thread, a message leaning on the question before ("and the plane", "what about…") asks too.
_FOLLOW_ON = re.compile(r"^(?:and|also|but|or|what about|how about|then)\b", re.I)
_THANKS = re.compile(r"^(?:thanks|thank (?:you|u)|thx|ty|tysm|cheers|much appreciated|appreciate it)\b", re.I)
# Words that make up greetings, thanks and acknowledgements ("ok got it, thanks so much!").
_CHATTER_TEXT = """hi hello hey hiya yo gm gn morning evening night good thanks thank thx ty tysm you u cheers much
    appreciated appreciate it ok okay k kk cool nice great awesome perfect got lol lmao haha yes yeah yep
    yup no nope nah sure np welcome bye cya see i oh ah wow same agreed true right alright done there
    all everyone guys folks so a lot again that this works worked sounds makes sense now one it's that's
    makes helps helped helpful very really just ah okk sweet amazing brilliant fine"""
_CHATTER_WORDS = frozenset(_CHATTER_TEXT.split())
_WORD = re.compile(r"[\w']+")


def words(text: str) -> list[str]:
    """Return the lower-case words of a message, links left out."""
    return _WORD.findall(_URL.sub(" ", text).lower())


def reads_as_question(text: str, *, follow_up: bool = False) -> bool:
    """Tell whether a message asks something: a question mark, a question or a request form.

    With follow_up (in a thread, after a question), "and …" / "what about …" count as asking.
    """
    plain = _URL.sub(" ", text)
    if _QUESTION_MARK.search(plain) or _REQUEST.search(plain):
        return True
    sentences = [s.strip() for s in _SENTENCES.split(plain) if s.strip()]
    if any(_QUESTION_START.match(s) for s in sentences):
        return True
    return follow_up and bool(sentences) and bool(_FOLLOW_ON.match(sentences[0]))


def is_chatter(text: str, *, follow_up: bool = False) -> bool:
    """Tell whether a message is a greeting, thanks or a short reply rather than a question."""
    found = words(text)
    if all(w in _CHATTER_WORDS for w in found):  # "thanks!", "hello?", "ok got it", "👍"
        return True
    asks = reads_as_question(text, follow_up=follow_up)
    if _THANKS.match(text.strip()) and not asks:  # "thanks, that fixed it"
        return True
    return len(found) <= SHORT_REPLY_WORDS and not asks  # "yes it does", "same here"


@dataclass(frozen=True)
class Rules:
    """A server's quiet rules (each one a setting)."""

    only_questions: bool = True
    skip_chatter: bool = True
    after_staff: bool = True
    max_answers: int = 3  # per thread or post; 0: no limit

    @classmethod
    def of(cls, config: GuildConfig) -> Rules:
        """Return the rules a server configured."""
        return cls(
            only_questions=config.only_questions,
            skip_chatter=config.skip_chatter,
            after_staff=config.quiet_after_staff,
            max_answers=config.max_thread_answers,
        )


@dataclass(frozen=True)
class Situation:
    """What citebot knows of a message when it decides whether to answer."""

    text: str
    mentioned: bool = False
    in_thread: bool = False  # a forum post or a thread (follow-ups lean on the question before)
    from_asker: bool = True  # in a forum post: written by the post's author
    replies_to_person: bool = False  # a reply to someone else's message (not citebot's)
    answers: int = 0  # citebot's answers in this thread or post so far
    solved: bool = False
    handed_off: bool = False
    staff_replied: bool | None = None  # None: not looked up (yet)


def reason_to_stay_quiet(rules: Rules, s: Situation) -> str | None:
    """Return why citebot should not answer, or None to answer. The cheap rules come first."""
    if s.solved:
        return SOLVED
    if s.mentioned:
        return None
    if s.handed_off:
        return HANDED_OFF
    if not s.from_asker:
        return NOT_ASKER
    if rules.max_answers and s.answers >= rules.max_answers:
        return ANSWER_LIMIT
    if rules.skip_chatter and s.replies_to_person:
        return BETWEEN_PEOPLE
    if rules.skip_chatter and is_chatter(s.text, follow_up=s.in_thread):
        return CHATTER
    if rules.only_questions and not reads_as_question(s.text, follow_up=s.in_thread):
        return NOT_A_QUESTION
    if rules.after_staff and s.staff_replied:
        return STAFF_REPLIED
    return None
