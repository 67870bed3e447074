"""Answer types: what kind of fact a question asks for, and whether a sentence holds one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

_NUM = r"(?:\d[\d,.]*|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a few|several|dozens?|hundreds?|thousands?)"
_SEP = r"(?:\s*|-)"


def _measure(units: str) -> re.Pattern[str]:
    """Return a pattern for a number followed by one of the units ("60 km/h", "60-hour")."""
    return re.compile(rf"\b{_NUM}{_SEP}(?:{units})(?![a-z])", re.I)


@dataclass(frozen=True)
class AnswerType:
    """A kind of answer: the question wording that asks for it, and the sentence text that gives it.

    strong: the sentence pattern names the answer's own unit or form (a speed, a distance, a sum
    of money), a surer sign than weak (any number, any capitalised name).
    """

    name: str
    asks: re.Pattern[str]
    strong: re.Pattern[str] | None
    weak: re.Pattern[str] | None = None


_DISTANCE_UNITS = r"km|kms|kilomet(?:er|re)s?|miles?|mi|met(?:er|re)s?|m|feet|foot|ft|yards?|nautical miles?"
_DURATION_UNITS = (
    r"seconds?|minutes?|hours?|hrs?|days?|nights?|weeks?|months?|years?|decades?|centur(?:y|ies)"
)
_ANY_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|dozens?|hundreds?|thousands?|millions?|billions?)\b",
    re.I,
)
_DATE = re.compile(
    r"\b(?:1[5-9]\d\d|20\d\d|January|February|March|April|May|June|July|August|September|October|"
    r"November|December|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|century|decade|"
    r"yesterday|today|tomorrow|ago)\b"
)
_PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")
_NOTHING = re.compile(r"(?!)")
_PLACE = re.compile(r"\b(?:in|at|from|to|near)\s+[A-Z]")

# The asked type is the one named first in the question ("Which newspaper reported how fast..." asks
# for a name); on a tie, the more specific type listed first.
TYPES: tuple[AnswerType, ...] = (
    AnswerType(
        "speed",
        re.compile(r"\bhow (?:fast|quick|quickly|slow|slowly)\b|\bspeed\b|\bvelocity\b|\bpace\b"),
        _measure(r"km/h|kph|km per hour|mph|miles (?:an|per) hour|kilomet\w+ (?:an|per) hour|knots|m/s"),
    ),
    AnswerType(
        "distance",
        re.compile(
            r"\bhow far\b|\bdistance\b|\bhow (?:wide|deep|high|tall)\b|\bhow long is the (?:route|line|road|border|river)\b"
        ),
        _measure(_DISTANCE_UNITS),
    ),
    AnswerType(
        "duration",
        re.compile(
            r"\bhow long\b|\bduration\b|\bhow many (?:seconds|minutes|hours|days|weeks|months|years)\b"
        ),
        _measure(_DURATION_UNITS),
    ),
    AnswerType(
        "age",
        re.compile(r"\bhow old\b|\bwhat age\b"),
        re.compile(r"\b\d+(?:\s*|-)years?(?:\s*|-)old\b|\baged?\s+\d+|\b\d+ years\b", re.I),
        _ANY_NUMBER,
    ),
    AnswerType(
        "money",
        re.compile(
            r"\bhow much (?:did|does|do|will|would|is|was)\b.*\b(?:cost|pay|paid|worth|spend|spent|earn|raise)|\bcost\b|\bprice\b|\bhow much money\b"
        ),
        re.compile(
            r"[$€£¥₩₽]\s*\d|\b\d[\d,.]*\s*(?:million|billion|trillion)?\s*(?:dollars|euros|pounds|yen|yuan|rubles|roubles|won|francs)\b",
            re.I,
        ),
    ),
    AnswerType(
        "percent",
        re.compile(r"\bpercent(?:age)?\b|\bper cent\b|\bwhat (?:share|proportion|fraction)\b"),
        re.compile(r"\d\s*%|\bper ?cent\b", re.I),
    ),
    AnswerType(
        "colour",
        re.compile(r"\b(?:what|which) colou?rs?\b|\bcolou?rs? (?:is|are|was|were|of)\b"),
        re.compile(
            r"\b(?:black|white|red|green|blue|yellow|orange|purple|violet|pink|brown|grey|gray|gold|golden|"
            r"silver|beige|crimson|scarlet|navy|turquoise|maroon|khaki)\b",
            re.I,
        ),
        _NOTHING,  # a number says nothing of a colour
    ),
    AnswerType(
        "stance",
        re.compile(
            r"\b(?:position|stance)\s+(?:on|towards?|regarding)\b"
            r"|\b(?:attitudes?|opinions?|feelings?)\s+(?:on|of|about|towards?|regarding)\b"
            # "view of" is a sight ("the view of the valley") unless it is someone's ("Kim's view of")
            r"|\bviews?\s+(?:on|about|towards?|regarding)\b|(?:'s|\bhis|\bher|\btheir|\bits)\s+views?\s+of\b"
            r"|\bhow (?:does|did|do)\b.*\b(?:feel|think) (?:about|of)\b"
            r"|\b(?:for|support|supports|supported) or (?:against|oppose|opposes|opposed)\b"
        ),
        # a verb or noun of taking sides ("has strongly supported", "opposes", "a backer of")
        re.compile(
            r"\b(?:support|oppos|condemn|criticis|criticiz|denounc|welcom|endors|prais|reject|favou?r|"
            r"approv|disapprov|applaud|back(?=ed|ing|er)|objected|protest)(?:s|e|ed|d|es|ing|ion|er|ers|al)?\b",
            re.I,
        ),
        _NOTHING,  # a number says nothing of a stance
    ),
    AnswerType(
        "date",
        re.compile(r"\bwhen\b|\bwhat (?:year|date|day|month|time|century)\b|\bsince when\b"),
        None,
        _DATE,
    ),
    AnswerType(
        "number",
        re.compile(r"\bhow (?:many|much|often|big|large|long|heavy)\b|\bwhat (?:number|amount)\b"),
        None,
        _ANY_NUMBER,
    ),
    AnswerType("person", re.compile(r"\bwho\b|\bwhose\b|\bwhom\b"), None, _PROPER),
    AnswerType("name", re.compile(r"\bwhich\b|\bwhat is the name\b"), None, _PROPER),
    AnswerType("place", re.compile(r"\bwhere\b|\bwhat (?:country|city|town|region|place)\b"), None, _PLACE),
)
STRONG = 3.0
WEAK = 1.0


@lru_cache(maxsize=16)  # one ask reads its question's wording several times
def asks_in(question: str) -> tuple[re.Match[str] | None, ...]:
    """Return, for each of TYPES, where the lower-cased question asks for it (None where it does not)."""
    q = question.lower()
    return tuple(t.asks.search(q) for t in TYPES)


def asked_type(question: str) -> AnswerType | None:
    """Return the kind of answer a question asks for, or None when its wording names none."""
    found = [(m.start(), i) for i, m in enumerate(asks_in(question)) if m]
    return TYPES[min(found)[1]] if found else None


def cue(question: str, sentence: str, asked: AnswerType | None = None) -> float:
    """Score how well a sentence holds the kind of fact the question asks for (0, WEAK or STRONG)."""
    kind = asked if asked is not None else asked_type(question)
    return cue_by(kind, lambda pattern: pattern.search(sentence) is not None)


def cue_by(kind: AnswerType | None, holds: Callable[[re.Pattern[str]], bool]) -> float:
    """Return cue() for the asked kind, given whether the sentence holds a pattern (a remembered search)."""
    if kind is None:
        return 0.0
    if kind.strong is not None and holds(kind.strong):
        return STRONG
    weak = kind.weak if kind.weak is not None else _ANY_NUMBER if kind.strong is not None else None
    return WEAK if weak is not None and holds(weak) else 0.0
